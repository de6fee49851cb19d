//! The migrations are embedded at compile time (`diesel_migrations::embed_migrations!`): a new
//! or edited migration must rebuild the crate, which Cargo does not notice on its own.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
