//! Reads a TorchScript archive (`*.nequip.pth`) without libtorch: the zip, the `byteorder`
//! record, `extra/` metadata and the module tree of `data.pkl` with every tensor.
use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use super::pickle::{unpickle, Object, PickleError, StorageSource, Tensor, Value};

/// What can go wrong while reading a model for the native engine.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a TorchScript zip archive ({0})")]
    NotZip(String),
    #[error("damaged zip archive ({0})")]
    Damaged(String),
    #[error("the archive has no {0}")]
    MissingEntry(String),
    #[error("tensors are stored {0}-endian; only little-endian archives can be read")]
    ByteOrder(String),
    #[error(transparent)]
    Pickle(#[from] PickleError),
    #[error("module '{module}' has no attribute '{attr}'")]
    MissingAttr { module: String, attr: String },
    #[error("attribute '{module}.{attr}' is not {expected}")]
    WrongType {
        module: String,
        attr: String,
        expected: &'static str,
    },
    #[error("module '{path}' is a {class}, which the native engine does not implement (use `backend torch`)")]
    Unsupported { path: String, class: String },
    #[error("{0}: not implemented by the native engine (`backend torch` runs it)")]
    NotImplemented(String),
    #[error("{0} (the file is damaged, or was written by a nequip/allegro version whose layout this engine does not read)")]
    Layout(String),
}

pub type LoadResult<T> = std::result::Result<T, ArchiveError>;

impl ArchiveError {
    /// A model the native engine cannot run but libtorch may: a module or feature it does not
    /// implement (not damage, nor an inconsistency, which no backend should run).
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            ArchiveError::Unsupported { .. } | ArchiveError::NotImplemented(_)
        )
    }

    /// A module tree that does not have the layout the engine reads.
    pub fn layout(what: impl Into<String>) -> ArchiveError {
        ArchiveError::Layout(what.into())
    }
}

/// The module tree of an archive and its TorchScript code (for the few constants that live only
/// there); its `extra/` metadata is read by `Metadata`.
pub struct Archive {
    pub root: Module,
    pub code: String,
}

/// The archive being read, with what may still be read from it: every entry's declared size
/// is checked against that before anything is allocated, and no entry may hold more than it
/// declares (TorchScript stores entries uncompressed, so all of them together are about the
/// file's size; the budget leaves room for an archive that was recompressed).
struct Zip {
    zip: zip::ZipArchive<std::fs::File>,
    budget: u64,
}

impl Zip {
    fn read(&mut self, name: &str, expected: Option<usize>) -> Result<Vec<u8>, ReadError> {
        let mut entry = self.zip.by_name(name).map_err(|_| ReadError::Missing)?;
        let declared = entry.size();
        if declared > self.budget || expected.is_some_and(|n| n as u64 != declared) {
            return Err(ReadError::Damaged(format!(
                "{name}: the archive declares {declared} bytes{}",
                match expected {
                    Some(n) if n as u64 != declared => format!(", the pickle {n}"),
                    _ => " (more than the whole file could hold)".into(),
                }
            )));
        }
        let mut bytes = Vec::with_capacity(declared as usize);
        (&mut entry)
            .take(declared + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                ReadError::Damaged(if e.to_string().contains("checksum") {
                    format!("{name}: the CRC-32 checksum does not match (the file is damaged)")
                } else {
                    format!("{name}: {e}")
                })
            })?;
        if bytes.len() as u64 != declared {
            return Err(ReadError::Damaged(format!(
                "{name}: holds {} bytes, the archive declares {declared}",
                bytes.len()
            )));
        }
        self.budget -= declared;
        Ok(bytes)
    }
}

enum ReadError {
    Missing,
    Damaged(String),
}

struct ZipStorages<'a> {
    zip: &'a mut Zip,
    prefix: String,
}

impl StorageSource for ZipStorages<'_> {
    fn storage(&mut self, key: &str, expected: usize) -> Result<Vec<u8>, PickleError> {
        self.zip
            .read(&format!("{}data/{key}", self.prefix), Some(expected))
            .map_err(|e| match e {
                ReadError::Missing => PickleError::MissingStorage(key.to_owned()),
                ReadError::Damaged(what) => PickleError::BadStorage {
                    key: key.to_owned(),
                    what,
                },
            })
    }
}

fn read_entry(zip: &mut Zip, name: &str) -> LoadResult<Vec<u8>> {
    zip.read(name, None).map_err(|e| match e {
        ReadError::Missing => ArchiveError::MissingEntry(name.to_owned()),
        ReadError::Damaged(what) => ArchiveError::Damaged(what),
    })
}

impl Archive {
    pub fn read(path: &Path) -> LoadResult<Archive> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let zip = zip::ZipArchive::new(file).map_err(|e| ArchiveError::NotZip(e.to_string()))?;
        let mut zip = Zip {
            zip,
            budget: len.saturating_mul(16).max(64 << 20),
        };
        // Every entry sits under one root folder named after the file stem.
        let pkl = (0..zip.zip.len())
            .filter_map(|i| zip.zip.name_for_index(i).map(str::to_owned))
            .find(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
            .ok_or_else(|| ArchiveError::MissingEntry("data.pkl".into()))?;
        let prefix = pkl.trim_end_matches("data.pkl").to_owned();
        if let Ok(order) = read_entry(&mut zip, &format!("{prefix}byteorder")) {
            let order = String::from_utf8_lossy(&order).trim().to_owned();
            if order != "little" {
                return Err(ArchiveError::ByteOrder(order));
            }
        }
        let mut code = String::new();
        let code_dir = format!("{prefix}code/");
        let names: Vec<String> = zip.zip.file_names().map(str::to_owned).collect();
        for name in names
            .iter()
            .filter(|n| n.starts_with(&code_dir) && n.ends_with(".py"))
        {
            code.push_str(&String::from_utf8_lossy(&read_entry(&mut zip, name)?));
        }
        let data = read_entry(&mut zip, &pkl)?;
        let mut storages = ZipStorages {
            zip: &mut zip,
            prefix,
        };
        let root = match unpickle(&data, &mut storages)? {
            Value::Object(o) => Module {
                obj: o,
                path: String::new(),
            },
            _ => {
                return Err(ArchiveError::Layout(
                    "data.pkl does not hold a module".into(),
                ))
            }
        };
        Ok(Archive { root, code })
    }
}

/// A scripted module of the tree, with its path from the root for messages.
#[derive(Clone)]
pub struct Module {
    obj: Rc<RefCell<Object>>,
    pub path: String,
}

impl Module {
    /// The class name without TorchScript's package prefix and mangling suffix.
    pub fn class(&self) -> String {
        let full = self.obj.borrow().class.clone();
        let last = full.rsplit('.').next().unwrap_or(&full);
        match last.find("___torch_mangle") {
            Some(i) => last[..i].to_owned(),
            None => last.to_owned(),
        }
    }

    pub fn attr_names(&self) -> Vec<String> {
        self.obj
            .borrow()
            .attrs
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.obj.borrow().attrs.iter().any(|(k, _)| k == name)
    }

    pub fn attr(&self, name: &str) -> LoadResult<Value> {
        self.obj
            .borrow()
            .attrs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| ArchiveError::MissingAttr {
                module: self.path.clone(),
                attr: name.to_owned(),
            })
    }

    fn wrong(&self, attr: &str, expected: &'static str) -> ArchiveError {
        ArchiveError::WrongType {
            module: self.path.clone(),
            attr: attr.to_owned(),
            expected,
        }
    }

    pub fn child(&self, name: &str) -> LoadResult<Module> {
        match self.attr(name)? {
            Value::Object(obj) => Ok(Module {
                obj,
                path: if self.path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{}.{name}", self.path)
                },
            }),
            _ => Err(self.wrong(name, "a module")),
        }
    }

    /// Like [`Module::child`], and checks the class.
    pub fn child_of(&self, name: &str, class: &str) -> LoadResult<Module> {
        let m = self.child(name)?;
        m.expect_class(&[class])?;
        Ok(m)
    }

    pub fn expect_class(&self, classes: &[&str]) -> LoadResult<()> {
        let class = self.class();
        if classes.contains(&class.as_str()) {
            Ok(())
        } else {
            Err(ArchiveError::Unsupported {
                path: self.path.clone(),
                class,
            })
        }
    }

    pub fn tensor(&self, name: &str) -> LoadResult<Rc<Tensor>> {
        match self.attr(name)? {
            Value::Tensor(t) => Ok(t),
            _ => Err(self.wrong(name, "a tensor")),
        }
    }

    pub fn int(&self, name: &str) -> LoadResult<i64> {
        match self.attr(name)? {
            Value::Int(i) => Ok(i),
            _ => Err(self.wrong(name, "an integer")),
        }
    }

    pub fn float(&self, name: &str) -> LoadResult<f64> {
        match self.attr(name)? {
            Value::Float(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            _ => Err(self.wrong(name, "a number")),
        }
    }

    pub fn bool(&self, name: &str) -> LoadResult<bool> {
        match self.attr(name)? {
            Value::Bool(b) => Ok(b),
            _ => Err(self.wrong(name, "a boolean")),
        }
    }

    pub fn string(&self, name: &str) -> LoadResult<String> {
        match self.attr(name)? {
            Value::Str(s) => Ok(s),
            _ => Err(self.wrong(name, "a string")),
        }
    }

    pub fn ints(&self, name: &str) -> LoadResult<Vec<i64>> {
        match self.attr(name)? {
            Value::List(v) | Value::Tuple(v) => v
                .iter()
                .map(|x| match x {
                    Value::Int(i) => Ok(*i),
                    _ => Err(self.wrong(name, "a list of integers")),
                })
                .collect(),
            _ => Err(self.wrong(name, "a list of integers")),
        }
    }

    pub fn strings(&self, name: &str) -> LoadResult<Vec<String>> {
        match self.attr(name)? {
            Value::List(v) | Value::Tuple(v) => v
                .iter()
                .map(|x| match x {
                    Value::Str(s) => Ok(s.clone()),
                    _ => Err(self.wrong(name, "a list of strings")),
                })
                .collect(),
            _ => Err(self.wrong(name, "a list of strings")),
        }
    }

    /// A dict of strings to strings (nequip's `_metadata`).
    pub fn string_map(&self, name: &str) -> LoadResult<std::collections::HashMap<String, String>> {
        match self.attr(name)? {
            Value::Dict(d) => d
                .iter()
                .map(|kv| match kv {
                    (Value::Str(k), Value::Str(v)) => Ok((k.clone(), v.clone())),
                    _ => Err(self.wrong(name, "a dict of strings")),
                })
                .collect(),
            _ => Err(self.wrong(name, "a dict of strings")),
        }
    }

    /// The numbered children of a Sequential or ModuleList, in order.
    pub fn numbered_children(&self) -> LoadResult<Vec<Module>> {
        let mut out = Vec::new();
        while self.has(&out.len().to_string()) {
            out.push(self.child(&out.len().to_string())?);
        }
        Ok(out)
    }
}
