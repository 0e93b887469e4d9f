//! The migration workflow: `migrate deploy` (lock, refusal rules from `status`, pre-flight data
//! checks, per-tool history records, one transaction per migration), `migrate resolve`,
//! `baseline`, `migrate new` and the git-base checks of `migrate check`.

mod baseline;
mod deploy;
mod gitbase;
mod new;
mod preflight;
mod resolve;

pub use baseline::{BaselineError, BaselineReport, baseline};
pub use deploy::{DeployOptions, DeployReport, DeployedMigration, FailedMigration, deploy};
pub use gitbase::{GitBaseError, GitBaseReport, check_against_base, compare as compare_with_base, migrations_at_base};
pub use new::{NewMigration, NewMigrationError, migration_text, next_version, utc_version_now, write_new_migration};
pub use preflight::{CheckKind, DataCheck, PreflightPlan, Unchecked, plan as plan_preflight};
pub use resolve::{ResolveAction, ResolveReport, resolve};
