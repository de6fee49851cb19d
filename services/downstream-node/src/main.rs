use anyhow::Context as _;
use clap::Parser;
use downstream_node::settings::{Cli, Command, Settings, WhitelistCommand};
use downstream_node::{Application, connect, db, node::maintenance};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&cli.flags)?;
    service_kit::server::start_logging(&settings.log_level, settings.log_format)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings)?;
            log::info!("downstream-node listening on port {}", app.port());
            app.run().await?;
        }
        Command::Migrate => {
            let applied = connect(&settings)?.migrate(&db::MIGRATIONS)?;
            println!("applied {} migration(s)", applied.len());
        }
        Command::Whitelist {
            command: WhitelistCommand::Import { file, keep_missing },
        } => {
            let database = connect(&settings)?;
            database.migrate(&db::MIGRATIONS)?;
            let report = maintenance::import_whitelist(&database, &file, keep_missing)
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            println!(
                "whitelist: {} added, {} updated, {} unchanged, {} deleted",
                report.added, report.updated, report.unchanged, report.deleted
            );
        }
        Command::Cleandb => {
            let database = connect(&settings)?;
            database.migrate(&db::MIGRATIONS)?;
            let deleted = maintenance::cleandb(&database).await?;
            println!("cleandb: {deleted} expired contract(s) deleted");
        }
    }
    Ok(())
}
