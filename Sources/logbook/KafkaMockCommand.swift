import Archive
import ArgumentParser
import FanOut
import Foundation

/// librdkafka's mock cluster as a process: Kafka brokers on loopback for demos and benchmarks on a
/// machine without a broker. Prints the bootstrap servers, then serves until SIGTERM/SIGINT.
struct KafkaMockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-mock",
        abstract: "Run librdkafka's mock Kafka cluster on loopback (for demos and benchmarks).",
        shouldDisplay: false)
    @Option(help: ArgumentHelp("Number of brokers.", valueName: "count")) var brokers: Int32 = 3
    @Option(help: "Topics to create first (comma-separated), with --partitions each.") var topics: String?
    @Option(help: ArgumentHelp(valueName: "count")) var partitions: Int32 = 3

    func validate() throws {
        try OptionCheck.count("brokers", Int(brokers), 1...16)
        try OptionCheck.count("partitions", Int(partitions), 1...1024)
    }

    func run() throws {
        try KafkaMockCluster.serve(brokers: brokers, topics: (topics ?? "").split(separator: ",").map(String.init), partitions: partitions) {
            FileIO.say($0 + "\n", fd: 1)
        }
    }
}
