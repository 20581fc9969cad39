import Foundation
import SSOFuzz

// The libFuzzer binary (built by scripts/fuzz only; Package.swift declares it when SSO_FUZZ=1). It runs the target
// named by SSO_FUZZ_TARGET; the variable, unlike an argument, reaches the processes libFuzzer starts itself (-merge).
//
// SwiftPM links an executable with `main` pointing at this module's entry point, so libFuzzer's own `main` is not
// used: ours hands the command line to libFuzzer's driver.

/// libFuzzer's entry for programs with their own `main` (compiler-rt FuzzerInterface.h).
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The target this process runs, chosen once.
let selected: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["SSO_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget.named(name) else {
        FileHandle.standardError.write(Data("SSO_FUZZ_TARGET must name one of: \(FuzzTarget.all.map(\.name).joined(separator: " "))\n".utf8))
        exit(2)
    }
    return target
}()

/// Called by libFuzzer with every input (also referenced by libFuzzer's own `main`, which the link keeps).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@main
enum FuzzMain {
    static func main() {
        // SSO_FUZZ_LIST=1: one line per target, "name max_len covers", for scripts/fuzz (which keeps no list of its own).
        if ProcessInfo.processInfo.environment["SSO_FUZZ_LIST"] == "1" {
            for target in FuzzTarget.all { print("\(target.name) \(target.maxLength) \(target.covers)") }
            exit(0)
        }
        // SSO_FUZZ_DICT=1: the selected target's dictionary, for libFuzzer's -dict.
        if ProcessInfo.processInfo.environment["SSO_FUZZ_DICT"] == "1" {
            print(selected.dictionaryFile, terminator: "")
            exit(0)
        }
        _ = selected
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}
