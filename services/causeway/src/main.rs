use clap::Parser;
use service_kit::server::init_logging;

use causeway::settings::{Cli, Command};
use causeway::{Application, Settings};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&cli, None)?;
    init_logging(&settings.log_level);
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
