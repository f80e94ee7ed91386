//! The `palisade` entry point, built inside the test package.

fn main() -> std::process::ExitCode {
    palisade::cli::main()
}
