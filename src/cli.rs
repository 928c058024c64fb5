//! The commands behind `tidings serve | migrate | user create`.

use std::io::Read;

use crate::app::Application;
use crate::config::{Cli, Command, Config, DbCommand, InstanceCommand, InviteCommand, UserCommand};
use crate::db::Db;
use crate::service::identity::{self, Settle};
use crate::service::{Services, accounts, instance};

pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TIDINGS_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::from_settings(&cli.settings)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = connect(&config).await?;
            identity::settle(&db, &mut config, Settle::ReadOnly).await?;
            println!("migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Command::Db(DbCommand::Copy { to }) => {
            let from = config.database_url.clone();
            let target = to.clone();
            let copied =
                tokio::task::spawn_blocking(move || copy_with_progress(&from, &target)).await??;
            let rows: i64 = copied.tables.iter().map(|(_, n)| n).sum();
            println!(
                "copied {rows} rows in {} tables; every count checked. Serve from PostgreSQL now:\n  tidings --database-url '{}' serve",
                copied.tables.len(),
                redact(&to)
            );
            Ok(())
        }
        Command::Backup { dir } => {
            let (url, data) = (config.database_url.clone(), config.data_dir.clone());
            let out = dir.clone();
            let s =
                tokio::task::spawn_blocking(move || crate::db::backup::backup(&url, &data, &out))
                    .await??;
            println!(
                "backed up {} rows in {} tables (schema {}){} to {}",
                s.rows(),
                s.manifest.tables.len(),
                s.manifest.schema_version,
                media_note(s.media_files),
                dir.display()
            );
            Ok(())
        }
        Command::Restore { dir } => {
            let (url, data) = (config.database_url.clone(), config.data_dir.clone());
            let from = dir.clone();
            let s =
                tokio::task::spawn_blocking(move || crate::db::backup::restore(&url, &data, &from))
                    .await??;
            println!(
                "restored {} rows in {} tables{} from {} (taken {}); start `tidings serve` with this database",
                s.rows(),
                s.manifest.tables.len(),
                media_note(s.media_files),
                dir.display(),
                s.manifest.created_at
            );
            Ok(())
        }
        Command::Domain(cmd) => crate::cli_domains::main(config, cmd).await,
        Command::Instance(cmd) => {
            let db = connect(&config).await?;
            identity::settle(&db, &mut config, Settle::ReadOnly).await?;
            let svc = Services::new(db, config);
            let fail = |e: crate::error::AppError| anyhow::anyhow!("{}", e.public_message());
            let info = match cmd {
                InstanceCommand::Show => instance::info(&svc).await.map_err(fail)?,
                InstanceCommand::Set { key, value } => {
                    let value = if value == "-" {
                        let mut v = String::new();
                        std::io::stdin().read_to_string(&mut v)?;
                        v
                    } else {
                        value
                    };
                    let changes = instance::Changes::one(&key, &value).map_err(fail)?;
                    instance::apply(&svc, changes).await.map_err(fail)?
                }
            };
            for line in info.lines() {
                println!("{line}");
            }
            Ok(())
        }
        Command::User(UserCommand::Create { name, admin }) => {
            let db = connect(&config).await?;
            identity::settle(&db, &mut config, Settle::Store).await?;
            let svc = Services::new(db, config);
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let account = accounts::register(
                &svc,
                accounts::Registration {
                    username: name,
                    password,
                    is_admin: admin,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            println!(
                "created {}@{}{}",
                account.username,
                svc.config.domain,
                if admin { " (admin)" } else { "" }
            );
            Ok(())
        }
        Command::Invite(cmd) => {
            let db = connect(&config).await?;
            identity::settle(&db, &mut config, Settle::ReadOnly).await?;
            let svc = Services::new(db, config);
            invite_cmd(&svc, cmd)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))
        }
        Command::User(cmd) => {
            let db = connect(&config).await?;
            identity::settle(&db, &mut config, Settle::ReadOnly).await?;
            let svc = Services::new(db, config);
            user_admin(&svc, cmd)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))
        }
    }
}

/// `tidings invite create|list`: links made here have no maker (the command line).
async fn invite_cmd(svc: &Services, cmd: InviteCommand) -> Result<(), crate::error::AppError> {
    use crate::service::invites::{self, Maker};
    match cmd {
        InviteCommand::Create {
            max_uses,
            expires_in,
        } => {
            let expires_in = expires_in
                .as_deref()
                .map(invites::parse_expiry)
                .transpose()
                .map_err(crate::error::AppError::bad_request)?;
            let invite = invites::create(svc, Maker::CommandLine, max_uses, expires_in).await?;
            println!("{}{}", svc.base_url(), invite.path());
        }
        InviteCommand::List => {
            for i in invites::made_by(svc, None).await? {
                println!(
                    "{}{}\tused {}\t{}{}",
                    svc.base_url(),
                    i.path(),
                    i.uses_text(),
                    i.expiry_text(),
                    if i.revoked_at.is_some() {
                        "\twithdrawn"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(())
}

/// `tidings user pending|approve|reject`: the sign-ups waiting for approval, as staff see
/// them on the admin page; actions are logged as taken on the command line.
async fn user_admin(svc: &Services, cmd: UserCommand) -> Result<(), crate::error::AppError> {
    use crate::service::account_admin::{self, Acting, Change};
    match cmd {
        UserCommand::Create { .. } => unreachable!("handled above"),
        UserCommand::Pending => {
            for a in account_admin::pending(svc, Acting::CommandLine).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    a.row.username,
                    a.row.created_at.format("%Y-%m-%d %H:%M"),
                    a.row.email.as_deref().unwrap_or("-"),
                    a.reason().replace(['\n', '\r', '\t'], " ")
                );
            }
        }
        UserCommand::Approve { name } => {
            let a = account_admin::local_by_name(svc, &name).await?;
            account_admin::change(svc, Acting::CommandLine, a.id, Change::Approve, "").await?;
            println!("approved {}", a.username);
        }
        UserCommand::Reject { name } => {
            let a = account_admin::local_by_name(svc, &name).await?;
            account_admin::reject(svc, Acting::CommandLine, a.id).await?;
            println!("rejected {} (the account is deleted)", a.username);
        }
    }
    Ok(())
}

/// `db::copy::copy` with a progress bar per table (indicatif; hidden when standard error is
/// not a terminal, where a line per table is printed instead).
fn copy_with_progress(from: &str, to: &str) -> anyhow::Result<crate::db::copy::Copied> {
    use crate::db::copy::Progress;
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut bar: Option<ProgressBar> = None;
    let style = ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} rows")
        .expect("valid template")
        .progress_chars("=> ");
    let result = crate::db::copy::copy(from, to, &mut |p| match p {
        Progress::Table { name, rows } => {
            if let Some(b) = bar.take() {
                b.finish();
            }
            if !tty {
                eprintln!("copying {name}: {rows} rows");
            }
            let b = ProgressBar::with_draw_target(
                Some(rows.max(0) as u64),
                if tty {
                    ProgressDrawTarget::stderr()
                } else {
                    ProgressDrawTarget::hidden()
                },
            );
            b.set_style(style.clone());
            b.set_message(name.to_owned());
            bar = Some(b);
        }
        Progress::Rows(n) => {
            if let Some(b) = &bar {
                b.inc(n);
            }
        }
    });
    if let Some(b) = bar.take() {
        b.finish();
    }
    result
}

fn media_note(files: usize) -> String {
    if files == 0 {
        String::new()
    } else {
        format!(" and {files} media files")
    }
}

async fn connect(config: &Config) -> anyhow::Result<Db> {
    let url = config.database_url.clone();
    let size = config.db_pool_size;
    tokio::task::spawn_blocking(move || Db::connect(&url, size)).await?
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let db_url = redact(&config.database_url);
    let app = Application::build(config).await?;
    let base = app.services.config.base_url();
    let addr = app.local_addr();
    tracing::info!(%addr, database = %db_url, elapsed_ms = started.elapsed().as_millis() as u64, "ready");
    println!("Tidings is running at {base}/ (listening on http://{addr}/)");
    app.run().await
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
