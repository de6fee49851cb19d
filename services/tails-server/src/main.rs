use clap::Parser;
use tails_server::Application;
use tails_server::settings::Flags;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Flags::parse().load(None)?;
    service_kit::server::start_logging(&settings.log_level, settings.log_format)?;
    let app = Application::build(settings)?;
    log::info!("tails-server listening on http://{}", app.addr());
    app.run().await?;
    Ok(())
}
