//! `odp kernel install`: writes the kernelspec (`kernel.json`) where Jupyter looks for kernels.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The kernel's name: its directory under `kernels/`, and what `--kernel odp` selects.
pub const KERNEL_NAME: &str = "odp";
pub const DISPLAY_NAME: &str = "ODP pipelines";

/// Where a kernelspec goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The user's Jupyter data directory (`~/.local/share/jupyter` on Linux, `JUPYTER_DATA_DIR` when set).
    User,
    /// The active Python environment (`$VIRTUAL_ENV` or `$CONDA_PREFIX`).
    SysPrefix,
    /// `DIR/share/jupyter`.
    Prefix(PathBuf),
}

/// The `kernels/` directory of a location.
pub fn kernels_dir(location: &Location) -> Result<PathBuf, String> {
    let data = match location {
        Location::User => user_data_dir(std::env::var_os("JUPYTER_DATA_DIR"))?,
        Location::SysPrefix => {
            let prefix = std::env::var_os("VIRTUAL_ENV")
                .or_else(|| std::env::var_os("CONDA_PREFIX"))
                .ok_or("--sys-prefix needs an active Python environment (VIRTUAL_ENV or CONDA_PREFIX); use --prefix DIR or --user")?;
            PathBuf::from(prefix).join("share").join("jupyter")
        }
        Location::Prefix(dir) => dir.join("share").join("jupyter"),
    };
    Ok(data.join("kernels"))
}

/// The user's Jupyter data directory: `JUPYTER_DATA_DIR` when set (and not empty), as Jupyter itself reads it,
/// else the platform's (`$XDG_DATA_HOME/jupyter` or `~/.local/share/jupyter` on Linux).
fn user_data_dir(jupyter_data_dir: Option<std::ffi::OsString>) -> Result<PathBuf, String> {
    match jupyter_data_dir {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => jupyter_zmq_client::user_data_dir()
            .map_err(|e| format!("cannot find the Jupyter data directory: {e}")),
    }
}

/// The kernel's logos, shown by JupyterLab's launcher and notebook header.
const LOGO_PNG: &[u8] = include_bytes!("../assets/logo-64x64.png");
const LOGO_SVG: &[u8] = include_bytes!("../assets/logo-svg.svg");

/// The kernelspec that starts `exe kernel --connection-file {connection_file}`.
pub fn kernelspec(exe: &Path, display_name: &str) -> Value {
    json!({
        "argv": [exe.to_string_lossy(), "kernel", "--connection-file", "{connection_file}"],
        "display_name": display_name,
        "language": "odp",
        "interrupt_mode": "message",
        "env": {},
        "metadata": {
            "debugger": false,
            "language_info": {
                "name": "odp",
                "codemirror_mode": "yaml",
                "mimetype": "text/x-yaml",
                "file_extension": ".yaml",
                "pygments_lexer": "yaml"
            }
        }
    })
}

/// Writes the kernelspec; returns its directory.
pub fn install(
    location: &Location,
    name: &str,
    display_name: &str,
    exe: &Path,
) -> Result<PathBuf, String> {
    let dir = kernels_dir(location)?.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let spec = kernelspec(exe, display_name);
    let mut text = serde_json::to_string_pretty(&spec).expect("a kernelspec serializes");
    text.push('\n');
    let file = dir.join("kernel.json");
    std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    for (name, bytes) in [("logo-64x64.png", LOGO_PNG), ("logo-svg.svg", LOGO_SVG)] {
        let file = dir.join(name);
        std::fs::write(&file, bytes)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_kernelspec_under_the_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = install(
            &Location::Prefix(tmp.path().to_path_buf()),
            KERNEL_NAME,
            DISPLAY_NAME,
            Path::new("/opt/odp/bin/odp"),
        )
        .unwrap();
        assert_eq!(dir, tmp.path().join("share/jupyter/kernels/odp"));
        let spec: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("kernel.json")).unwrap())
                .unwrap();
        assert_eq!(
            spec["argv"],
            json!([
                "/opt/odp/bin/odp",
                "kernel",
                "--connection-file",
                "{connection_file}"
            ])
        );
        assert_eq!(spec["interrupt_mode"], "message");
        assert_eq!(spec["display_name"], "ODP pipelines");
        assert_eq!(spec["metadata"]["language_info"]["codemirror_mode"], "yaml");
        // The logos Jupyter looks for, by their fixed names.
        let png = std::fs::read(dir.join("logo-64x64.png")).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        // The PNG's IHDR: 64 × 64.
        assert_eq!(&png[16..24], &[0, 0, 0, 64, 0, 0, 0, 64]);
        let svg = std::fs::read_to_string(dir.join("logo-svg.svg")).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
    }

    #[test]
    fn the_user_location_honours_jupyter_data_dir() {
        assert_eq!(
            user_data_dir(Some("/tmp/jd".into())).unwrap(),
            PathBuf::from("/tmp/jd")
        );
        // Empty is unset, as for Jupyter.
        assert_ne!(user_data_dir(Some("".into())).unwrap(), PathBuf::from(""));
        assert!(user_data_dir(None).unwrap().ends_with("jupyter"));
    }
}
