//! The `palisade` command: see `palisade --help`.

fn main() -> std::process::ExitCode {
    palisade::cli::main()
}
