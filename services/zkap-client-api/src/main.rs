use zkap_client_api::Application;

fn main() -> anyhow::Result<()> {
    service_kit::startup::main::<Application>()
}
