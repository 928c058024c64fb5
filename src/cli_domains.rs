//! `tidings domain …`: blocking other servers and the allow-list from the command line
//! (issue #14, item 4). The work is `service::domain_blocks`'; a server running on the same
//! database sees a change within `domain_blocks::REFRESH`.

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Config;
use crate::service::Services;
use crate::service::domain_blocks::{self, BlockInput, DomainBlock, Severity};

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Block a server (and its subdomains), or change its block.
    Block {
        /// A bare host name, such as social.example.
        #[arg(value_name = "DOMAIN")]
        server: String,
        /// suspend (no federation either way, its content here hidden), silence (stored;
        /// hiding from public lists is not built yet) or noop (only the flags).
        #[arg(long, default_value = "suspend", value_parser = parse_severity)]
        severity: Severity,
        /// Do not store media from it (applies once media is stored).
        #[arg(long)]
        reject_media: bool,
        /// Refuse its reports (`Flag`).
        #[arg(long)]
        reject_reports: bool,
        /// Shown on the public list of blocked servers.
        #[arg(long)]
        public_comment: Option<String>,
        /// Seen by admins only.
        #[arg(long)]
        private_comment: Option<String>,
        /// Show the domain partly starred on the public list.
        #[arg(long)]
        obfuscate: bool,
    },
    /// Lift a block.
    Unblock {
        #[arg(value_name = "DOMAIN")]
        server: String,
    },
    /// Print the blocks, one a line.
    List,
    /// Add or change the blocks of a CSV file in Mastodon's format
    /// (`#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`); a bad
    /// row stops the import with its line number and nothing is imported. FILE `-` reads
    /// standard input.
    Import { file: PathBuf },
    /// Write the blocks to standard output as Mastodon's CSV.
    Export,
    /// List a server for the allow-list mode (`tidings instance set federation allowlist`).
    Allow {
        #[arg(value_name = "DOMAIN")]
        server: String,
    },
    /// Take a server off the allow-list.
    Disallow {
        #[arg(value_name = "DOMAIN")]
        server: String,
    },
    /// Print the allow-list, one domain a line.
    Allowed,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
}

fn fail(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.public_message())
}

pub async fn run(svc: Services, cmd: DomainCommand) -> anyhow::Result<()> {
    match cmd {
        DomainCommand::Block {
            server: domain,
            severity,
            reject_media,
            reject_reports,
            public_comment,
            private_comment,
            obfuscate,
        } => {
            let input = BlockInput {
                domain,
                severity,
                reject_media,
                reject_reports,
                private_comment,
                public_comment,
                obfuscate,
            };
            let (block, effects, created) = domain_blocks::put(&svc, input).await.map_err(fail)?;
            println!(
                "{} {}{}",
                if created { "blocked" } else { "changed" },
                line(&block),
                effects_note(&effects)
            );
        }
        DomainCommand::Unblock { server: domain } => {
            let (block, effects) =
                domain_blocks::remove_domain(&svc, &domain)
                    .await
                    .map_err(|e| match e.kind {
                        crate::error::ErrorKind::NotFound => {
                            anyhow::anyhow!("{} is not blocked", domain.trim())
                        }
                        _ => fail(e),
                    })?;
            println!("unblocked {}{}", block.domain, effects_note(&effects));
        }
        DomainCommand::List => {
            for b in domain_blocks::list(&svc).await.map_err(fail)? {
                println!("{}", line(&b));
            }
        }
        DomainCommand::Import { file } => {
            let text = if file.as_os_str() == "-" {
                let mut t = String::new();
                std::io::stdin().read_to_string(&mut t)?;
                t
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
            };
            let inputs = domain_blocks::parse_csv(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}; nothing imported", file.display()))?;
            let (added, changed) = domain_blocks::import(&svc, inputs)
                .await
                .map_err(|e| anyhow::anyhow!("{}; nothing imported", e.public_message()))?;
            println!(
                "imported {} blocks ({added} new, {changed} changed)",
                added + changed
            );
        }
        DomainCommand::Export => {
            let blocks = domain_blocks::list(&svc).await.map_err(fail)?;
            print!("{}", domain_blocks::to_csv(&blocks).map_err(fail)?);
        }
        DomainCommand::Allow { server: domain } => {
            let d = domain_blocks::allow(&svc, &domain).await.map_err(fail)?;
            println!("allowed {d}");
        }
        DomainCommand::Disallow { server: domain } => {
            let d = domain_blocks::disallow(&svc, &domain)
                .await
                .map_err(|e| match e.kind {
                    crate::error::ErrorKind::NotFound => {
                        anyhow::anyhow!("{} is not on the allow-list", domain.trim())
                    }
                    _ => fail(e),
                })?;
            println!("disallowed {d}");
        }
        DomainCommand::Allowed => {
            for d in domain_blocks::allows(&svc).await.map_err(fail)? {
                println!("{d}");
            }
        }
    }
    Ok(())
}

/// `domain severity [flags] [public_comment="…"] [private_comment="…"]`.
fn line(b: &DomainBlock) -> String {
    let mut out = format!("{} {}", b.domain, b.severity);
    for (on, name) in [
        (b.reject_media, "reject_media"),
        (b.reject_reports, "reject_reports"),
        (b.obfuscate, "obfuscate"),
    ] {
        if on {
            out.push(' ');
            out.push_str(name);
        }
    }
    if let Some(c) = &b.public_comment {
        out.push_str(&format!(" public_comment={c:?}"));
    }
    if let Some(c) = &b.private_comment {
        out.push_str(&format!(" private_comment={c:?}"));
    }
    out
}

fn effects_note(e: &domain_blocks::Effects) -> String {
    let mut parts = Vec::new();
    if e.accounts_suspended > 0 {
        parts.push(format!("{} accounts suspended", e.accounts_suspended));
    }
    if e.deliveries_cancelled > 0 {
        parts.push(format!("{} deliveries cancelled", e.deliveries_cancelled));
    }
    if e.accounts_restored > 0 {
        parts.push(format!("{} accounts restored", e.accounts_restored));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Settles the identity (our domain is needed to refuse blocking it) and runs `cmd`.
pub async fn main(mut config: Config, cmd: DomainCommand) -> anyhow::Result<()> {
    let url = config.database_url.clone();
    let size = config.db_pool_size;
    let db = tokio::task::spawn_blocking(move || crate::db::Db::connect(&url, size)).await??;
    crate::service::identity::settle(&db, &mut config, crate::service::identity::Settle::ReadOnly)
        .await?;
    run(Services::new(db, config), cmd).await
}
