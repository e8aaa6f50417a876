/// A socket the reactor watches; told of its readiness on the reactor's thread.
protocol ReactorSocket: AnyObject {
    func ready(_ events: UInt32)
}
