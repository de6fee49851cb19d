use clap::Parser;
use zkap_client_api::settings::{Cli, Command};
use zkap_client_api::{Application, migrate};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli.flags.load(None)?;
    service_kit::server::start_logging(&settings.log_level, settings.log_format)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let applied = migrate(&settings).await?;
            log::info!("{} migration(s) applied", applied.len());
        }
        Command::Serve => {
            let app = Application::build(&settings).await?;
            log::info!(
                "zkap-client-api listening on {}:{}",
                settings.host,
                app.port()
            );
            app.run().await?;
        }
    }
    Ok(())
}
