/// Trial division: table sizes are at most `MaglevTable.maximumSize` (2³¹ − 1), so at
/// most about 23 000 odd divisors, checked once per table.
func isPrime(_ n: Int) -> Bool {
    if n < 4 { return n >= 2 }
    if n % 2 == 0 { return false }
    var divisor = 3
    while divisor <= n / divisor {
        if n % divisor == 0 { return false }
        divisor += 2
    }
    return true
}

/// The smallest prime ≥ `n`, to suggest a valid size in error messages.
func nextPrime(atLeast n: Int) -> Int {
    var candidate = max(n, 2)
    while !isPrime(candidate) { candidate += 1 }
    return candidate
}
