import Foundation
import LbctlCore

// All logic lives in LbctlCore, where the tests run it in process.
let result = Lbctl.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
FileHandle.standardOutput.write(Data(result.standardOutput.utf8))
FileHandle.standardError.write(Data(result.standardError.utf8))
exit(result.exitCode)
