import ArgumentParser
import Balancer
import LBDAPI

/// `lbctl backend add|remove|set|drain|undrain`.
struct BackendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend", abstract: "Add, remove, weigh and drain the backends of a VIP.",
        subcommands: [Add.self, Remove.self, SetWeight.self, Drain.self, Undrain.self])

    /// The backend a command is about: its VIP and address, in that order.
    struct Target: ParsableArguments {
        @Argument(help: ArgumentHelp("The VIP, address:port/proto.", valueName: "vip"))
        var vip: String

        @Argument(help: ArgumentHelp("The backend's IP address.", valueName: "address"))
        var address: String

        func parsed() throws(Failure) -> (VIPKey, IPAddress) {
            (try ArgumentValues.vip(vip), try ArgumentValues.address(address))
        }
    }

    /// The weight range, as the help shows it. `--weight` reads its value unconditionally
    /// so that `--weight -1` is reported as out of range, not as a missing value.
    static let weightRange = "\(BackendSpec.weightRange.lowerBound)...\(BackendSpec.weightRange.upperBound)"

    struct Add: DaemonCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a backend to a VIP.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target

        @Option(parsing: .unconditional,
                help: ArgumentHelp("Relative share of new flows, \(weightRange) (default \(BackendSpec.defaultWeight)).",
                                   valueName: "n"))
        var weight: Int?

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            try ArgumentValues.checkBackend(address, weight: weight ?? BackendSpec.defaultWeight, of: vip)
            try session.call {
                try $0.edit(EditRequest(op: .addBackend, vip: vip.description, address: address.description, weight: weight))
            }
            session.print("added backend \(address) to \(vip)")
        }
    }

    struct Remove: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a backend from a VIP; its flows move to the others.",
            discussion: "To let its connections finish first, drain it and wait.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            try session.call { try $0.edit(EditRequest(op: .removeBackend, vip: vip.description, address: address.description)) }
            session.print("removed backend \(address) from \(vip)")
        }
    }

    struct SetWeight: DaemonCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a backend's weight.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target

        @Option(parsing: .unconditional,
                help: ArgumentHelp("Relative share of new flows, \(weightRange); 0 takes none.", valueName: "n"))
        var weight: Int

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            try ArgumentValues.checkBackend(address, weight: weight, of: vip)
            try session.call {
                try $0.edit(EditRequest(op: .setWeight, vip: vip.description, address: address.description, weight: weight))
            }
            session.print("set the weight of \(address) in \(vip) to \(weight)")
        }
    }

    struct Drain: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain", abstract: "Send a backend no new flows; its established flows continue.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            try session.call { try $0.edit(EditRequest(op: .drain, vip: vip.description, address: address.description)) }
            session.print("drained \(address) in \(vip)")
        }
    }

    struct Undrain: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "undrain", abstract: "Send a drained backend new flows again.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            try session.call { try $0.edit(EditRequest(op: .undrain, vip: vip.description, address: address.description)) }
            session.print("undrained \(address) in \(vip)")
        }
    }
}
