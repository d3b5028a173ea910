//! Reads a TorchScript archive (`*.nequip.pth`) without libtorch: the zip, the `byteorder`
//! record, `extra/` metadata and the module tree of `data.pkl` with every tensor.
use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use super::pickle::{unpickle, Object, PickleError, StorageSource, Tensor, Value};

/// What can go wrong while reading a model for the native engine.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
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
    #[error("{0} (a nequip/allegro version whose layout the native engine does not know? use `backend torch`)")]
    Layout(String),
}

pub type LoadResult<T> = std::result::Result<T, LoadError>;

impl LoadError {
    /// A module tree that does not have the layout the engine reads.
    pub fn layout(what: impl Into<String>) -> LoadError {
        LoadError::Layout(what.into())
    }
}

/// The module tree of an archive and its TorchScript code (for the few constants that live only
/// there); its `extra/` metadata is read by `Metadata`.
pub struct Archive {
    pub root: Module,
    pub code: String,
}

struct ZipStorages<'a> {
    zip: &'a mut zip::ZipArchive<std::fs::File>,
    prefix: String,
}

impl StorageSource for ZipStorages<'_> {
    fn storage(&mut self, key: &str) -> Option<Vec<u8>> {
        let mut entry = self
            .zip
            .by_name(&format!("{}data/{key}", self.prefix))
            .ok()?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }
}

fn read_entry(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> LoadResult<Vec<u8>> {
    let mut entry = zip
        .by_name(name)
        .map_err(|_| LoadError::MissingEntry(name.to_owned()))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::Damaged(format!("{name}: {e}")))?;
    Ok(bytes)
}

impl Archive {
    pub fn read(path: &Path) -> LoadResult<Archive> {
        let file = std::fs::File::open(path)?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| LoadError::NotZip(e.to_string()))?;
        // Every entry sits under one root folder named after the file stem.
        let pkl = (0..zip.len())
            .filter_map(|i| zip.name_for_index(i).map(str::to_owned))
            .find(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
            .ok_or_else(|| LoadError::MissingEntry("data.pkl".into()))?;
        let prefix = pkl.trim_end_matches("data.pkl").to_owned();
        if let Ok(order) = read_entry(&mut zip, &format!("{prefix}byteorder")) {
            let order = String::from_utf8_lossy(&order).trim().to_owned();
            if order != "little" {
                return Err(LoadError::ByteOrder(order));
            }
        }
        let mut code = String::new();
        let code_dir = format!("{prefix}code/");
        let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
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
            _ => return Err(LoadError::Layout("data.pkl does not hold a module".into())),
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
            .ok_or_else(|| LoadError::MissingAttr {
                module: self.path.clone(),
                attr: name.to_owned(),
            })
    }

    fn wrong(&self, attr: &str, expected: &'static str) -> LoadError {
        LoadError::WrongType {
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
            Err(LoadError::Unsupported {
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

    /// The numbered children of a Sequential or ModuleList, in order.
    pub fn numbered_children(&self) -> LoadResult<Vec<Module>> {
        let mut out = Vec::new();
        while self.has(&out.len().to_string()) {
            out.push(self.child(&out.len().to_string())?);
        }
        Ok(out)
    }
}
