//! A small pickle virtual machine for the `data.pkl` of TorchScript archives (protocol 2).
//!
//! It builds a plain value tree: scripted module objects become [`Object`]s holding their
//! attribute dict, tensors are rebuilt from the archive's raw storages (little-endian) through
//! a callback. Nothing is executed: every GLOBAL the archive names is either one of the few
//! reconstruction functions TorchScript uses or an opaque class name.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Errors of the pickle reader; the archive reader adds the file name.
#[derive(Debug, thiserror::Error)]
pub enum PickleError {
    #[error("data.pkl ends in the middle of an instruction (offset {0})")]
    Truncated(usize),
    #[error("data.pkl uses pickle opcode 0x{opcode:02x} at offset {offset}, which this reader does not know")]
    UnknownOpcode { opcode: u8, offset: usize },
    #[error("data.pkl is malformed at offset {offset}: {what}")]
    Malformed { offset: usize, what: String },
    #[error("data.pkl calls '{0}', which a TorchScript archive of a nequip model never does")]
    UnknownCall(String),
    #[error("tensor storage '{0}' is missing from the archive")]
    MissingStorage(String),
    #[error("tensor storage '{key}': {what}")]
    BadStorage { key: String, what: String },
}

/// Element type of a tensor storage, from the storage class the pickle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    I64,
    Bool,
}

impl DType {
    fn from_storage_class(name: &str) -> Option<DType> {
        match name {
            "torch.FloatStorage" => Some(DType::F32),
            "torch.DoubleStorage" => Some(DType::F64),
            "torch.LongStorage" => Some(DType::I64),
            "torch.BoolStorage" => Some(DType::Bool),
            _ => None,
        }
    }

    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::Bool => 1,
        }
    }
}

/// A dense tensor with its values widened to f64 (f32 and integer values are exact in f64).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f64>,
}

/// A scripted module (or other object built by NEWOBJ + BUILD): its class and attributes.
#[derive(Debug, Default)]
pub struct Object {
    pub class: String,
    pub attrs: Vec<(String, Value)>,
}

#[derive(Clone, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A bytes object (never used by the model tree; kept opaque).
    Bytes,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A class or function named by GLOBAL, not yet called.
    Global(String),
    Object(Rc<RefCell<Object>>),
    /// A storage reference from a persistent id: (key, dtype, number of elements).
    Storage(String, DType, usize),
    Tensor(Rc<Tensor>),
    Mark,
}

/// Supplies the raw bytes of `data/<key>`.
pub trait StorageSource {
    fn storage(&mut self, key: &str) -> Option<Vec<u8>>;
}

struct Vm<'a, S: StorageSource> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
    storages: &'a mut S,
    /// Decoded storages, so that views of one storage share the bytes.
    decoded: HashMap<String, Rc<Vec<f64>>>,
}

/// Runs the pickle program in `data` and returns the value it stops with.
pub fn unpickle(data: &[u8], storages: &mut impl StorageSource) -> Result<Value, PickleError> {
    let mut vm = Vm {
        data,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
        storages,
        decoded: HashMap::new(),
    };
    vm.run()
}

impl<S: StorageSource> Vm<'_, S> {
    fn bad(&self, what: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.pos,
            what: what.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(PickleError::Truncated(self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PickleError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated(self.pos))?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn string(&mut self, n: usize) -> Result<String, PickleError> {
        let bytes = self.take(n)?.to_vec();
        String::from_utf8(bytes).map_err(|_| self.bad("a string is not UTF-8"))
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        self.stack.pop().ok_or_else(|| self.bad("stack underflow"))
    }

    /// Pops everything above the topmost MARK, and the MARK.
    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or_else(|| self.bad("no MARK on the stack"))?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        let pos = self.pos;
        self.stack.last_mut().ok_or(PickleError::Malformed {
            offset: pos,
            what: "stack underflow".into(),
        })
    }

    fn memo_get(&self, key: u32) -> Result<Value, PickleError> {
        self.memo
            .get(&key)
            .cloned()
            .ok_or_else(|| self.bad(format!("memo entry {key} is not set")))
    }

    fn memo_put(&mut self, key: u32) -> Result<(), PickleError> {
        let v = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| self.bad("stack underflow"))?;
        self.memo.insert(key, v);
        Ok(())
    }

    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            let offset = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return self.pop(),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize; // LONG1
                    let bytes = self.take(n)?;
                    if n > 8 {
                        return Err(self.bad("integer wider than 64 bits"));
                    }
                    let mut buf = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                        [0xffu8; 8]
                    } else {
                        [0u8; 8]
                    };
                    buf[..n].copy_from_slice(bytes);
                    self.stack.push(Value::Int(i64::from_le_bytes(buf)));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.stack.push(Value::Float(v));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.string(n)?;
                    self.stack.push(Value::Str(s));
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.string(n)?;
                    self.stack.push(Value::Str(s));
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    self.take(n)?;
                    self.stack.push(Value::Bytes);
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    self.take(n)?;
                    self.stack.push(Value::Bytes);
                }
                b'(' => self.stack.push(Value::Mark),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(self.bad("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b']' => self.stack.push(Value::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top()? {
                        Value::List(l) => l.push(v),
                        _ => return Err(self.bad("APPEND to a non-list")),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err(self.bad("APPENDS to a non-list")),
                    }
                }
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    let dict = pairs(items).ok_or_else(|| self.bad("odd DICT items"))?;
                    self.stack.push(Value::Dict(dict));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err(self.bad("SETITEM on a non-dict")),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let new = pairs(items).ok_or_else(|| self.bad("odd SETITEMS items"))?;
                    match self.top()? {
                        Value::Dict(d) => d.extend(new),
                        _ => return Err(self.bad("SETITEMS on a non-dict")),
                    }
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u32; // MEMOIZE
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'j' => {
                    let k = self.u32()?;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(format!("{m}.{n}")))
                        }
                        _ => return Err(self.bad("STACK_GLOBAL of non-strings")),
                    }
                }
                0x81 => {
                    let _args = self.pop()?; // NEWOBJ
                    let class = match self.pop()? {
                        Value::Global(c) => c,
                        _ => return Err(self.bad("NEWOBJ of a non-class")),
                    };
                    self.stack.push(Value::Object(Rc::new(RefCell::new(Object {
                        class,
                        attrs: Vec::new(),
                    }))));
                }
                b'b' => {
                    let state = self.pop()?;
                    let Value::Object(obj) = self.top()?.clone() else {
                        return Err(self.bad("BUILD on a non-object"));
                    };
                    match state {
                        Value::Dict(d) => {
                            let mut obj = obj.borrow_mut();
                            for (k, v) in d {
                                match k {
                                    Value::Str(k) => obj.attrs.push((k, v)),
                                    _ => return Err(self.bad("object attribute name not a string")),
                                }
                            }
                        }
                        Value::None => {}
                        _ => return Err(self.bad("BUILD state is not a dict")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let (Value::Global(func), Value::Tuple(args)) = (func, args) else {
                        return Err(self.bad("REDUCE of a non-function or non-tuple"));
                    };
                    let v = self.call(&func, args)?;
                    self.stack.push(v);
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent(pid)?;
                    self.stack.push(v);
                }
                _ => return Err(PickleError::UnknownOpcode { opcode: op, offset }),
            }
        }
    }

    /// A persistent id `('storage', <StorageClass>, key, location, numel)`.
    fn persistent(&mut self, pid: Value) -> Result<Value, PickleError> {
        let Value::Tuple(t) = pid else {
            return Err(self.bad("persistent id is not a tuple"));
        };
        match t.as_slice() {
            [Value::Str(kind), Value::Global(class), Value::Str(key), _, Value::Int(numel)]
                if kind == "storage" =>
            {
                let dtype = DType::from_storage_class(class).ok_or_else(|| {
                    self.bad(format!("tensor storage of unsupported type '{class}'"))
                })?;
                Ok(Value::Storage(key.clone(), dtype, *numel as usize))
            }
            _ => Err(self.bad("persistent id is not a tensor storage")),
        }
    }

    fn call(&mut self, func: &str, mut args: Vec<Value>) -> Result<Value, PickleError> {
        match func {
            "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
                self.rebuild_tensor(&args)
            }
            "torch._utils._rebuild_parameter" => match args.first() {
                Some(t @ Value::Tensor(_)) => Ok(t.clone()),
                _ => Err(self.bad("_rebuild_parameter without a tensor")),
            },
            "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
            // TorchScript type annotations and list builders: the value is the first argument.
            "torch.jit._pickle.restore_type_tag"
            | "torch.jit._pickle.build_intlist"
            | "torch.jit._pickle.build_doublelist"
            | "torch.jit._pickle.build_boollist"
            | "torch.jit._pickle.build_tensorlist"
            | "torch.jit._pickle.build_genericlist" => {
                if args.is_empty() {
                    return Err(self.bad(format!("{func} without arguments")));
                }
                Ok(args.swap_remove(0))
            }
            _ => Err(PickleError::UnknownCall(func.to_owned())),
        }
    }

    fn rebuild_tensor(&mut self, args: &[Value]) -> Result<Value, PickleError> {
        let (storage, offset, size, stride) = match args {
            [s, Value::Int(o), Value::Tuple(size), Value::Tuple(stride), ..] => {
                (s, *o, size, stride)
            }
            _ => return Err(self.bad("unexpected arguments of _rebuild_tensor_v2")),
        };
        let Value::Storage(key, dtype, numel) = storage else {
            return Err(self.bad("tensor without a storage"));
        };
        let ints = |v: &[Value]| -> Option<Vec<i64>> {
            v.iter()
                .map(|x| match x {
                    Value::Int(i) => Some(*i),
                    _ => None,
                })
                .collect()
        };
        let size = ints(size).ok_or_else(|| self.bad("tensor size is not integers"))?;
        let stride = ints(stride).ok_or_else(|| self.bad("tensor stride is not integers"))?;
        if size.len() != stride.len() || size.iter().chain(&stride).any(|&x| x < 0) || offset < 0 {
            return Err(self.bad("tensor size/stride/offset inconsistent"));
        }
        let values = self.storage_values(key, *dtype, *numel)?;
        let shape: Vec<usize> = size.iter().map(|&s| s as usize).collect();
        let count: usize = shape.iter().product();
        let mut data = Vec::with_capacity(count);
        // Walk the view in row-major order through its strides; every index is bounds-checked.
        let mut index = vec![0usize; shape.len()];
        for _ in 0..count {
            let at = offset as usize
                + index
                    .iter()
                    .zip(&stride)
                    .map(|(&i, &s)| i * s as usize)
                    .sum::<usize>();
            let v = *values.get(at).ok_or_else(|| PickleError::BadStorage {
                key: key.clone(),
                what: format!("a tensor view reaches element {at} of {}", values.len()),
            })?;
            data.push(v);
            for d in (0..shape.len()).rev() {
                index[d] += 1;
                if index[d] < shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(Value::Tensor(Rc::new(Tensor {
            dtype: *dtype,
            shape,
            data,
        })))
    }

    fn storage_values(
        &mut self,
        key: &str,
        dtype: DType,
        numel: usize,
    ) -> Result<Rc<Vec<f64>>, PickleError> {
        if let Some(v) = self.decoded.get(key) {
            return Ok(v.clone());
        }
        let bytes = self
            .storages
            .storage(key)
            .ok_or_else(|| PickleError::MissingStorage(key.to_owned()))?;
        if bytes.len() != numel * dtype.size() {
            return Err(PickleError::BadStorage {
                key: key.to_owned(),
                what: format!(
                    "{} bytes, expected {numel} elements of {} bytes",
                    bytes.len(),
                    dtype.size()
                ),
            });
        }
        let values: Vec<f64> = match dtype {
            DType::F32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            DType::F64 => bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            DType::I64 => bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            DType::Bool => bytes.iter().map(|&b| (b != 0) as u8 as f64).collect(),
        };
        let values = Rc::new(values);
        self.decoded.insert(key.to_owned(), values.clone());
        Ok(values)
    }
}

fn pairs(items: Vec<Value>) -> Option<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Some(out)
}
