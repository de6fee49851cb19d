use clap::Parser;

use causeway::settings::{Cli, Command};
use causeway::{Application, Settings};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&cli, None)?;
    service_kit::server::start_logging(&settings.log_level, settings.log_format)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let applied = causeway::migrate(&settings)?;
            log::info!("{} migration(s) applied", applied.len());
        }
        Command::Serve => {
            let app = Application::build(settings)?;
            log::info!("causeway listening on port {}", app.port());
            app.run().await?;
        }
    }
    Ok(())
}
