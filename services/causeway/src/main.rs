use causeway::Application;

fn main() -> anyhow::Result<()> {
    service_kit::startup::main::<Application>()
}
