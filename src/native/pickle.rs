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
    #[error("data.pkl {0} (a damaged or crafted file)")]
    Limit(String),
}

/// Deepest nesting of values accepted (TorchScript module trees nest a few dozen levels): the
/// values are dropped and cloned recursively, so a deeper tree could overflow the stack.
const MAX_DEPTH: u32 = 200;

/// Most values that memo references may copy in all (a few hundred in real archives): each
/// reference copies its value, so a short file of nested references could grow without bound.
const MAX_MEMO_NODES: usize = 1 << 22;

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
    /// BUILD has set the attributes (once; only a built object may be put into a value).
    built: bool,
    /// Nesting depth of the attributes, fixed by BUILD.
    depth: u32,
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

/// Supplies the raw bytes of `data/<key>` (`expected` bytes, which the source may use to refuse
/// a larger entry before reading it).
pub trait StorageSource {
    fn storage(&mut self, key: &str, expected: usize) -> Result<Vec<u8>, PickleError>;
}

struct Vm<'a, S: StorageSource> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Nesting depth of each stack value (0 for scalars).
    depths: Vec<u32>,
    memo: HashMap<u32, (Value, u32)>,
    /// Values copied by memo references so far.
    memo_nodes: usize,
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
        depths: Vec::new(),
        memo: HashMap::new(),
        memo_nodes: 0,
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

    fn push(&mut self, v: Value, depth: u32) -> Result<(), PickleError> {
        if depth > MAX_DEPTH {
            return Err(PickleError::Limit(format!(
                "nests values deeper than {MAX_DEPTH} levels"
            )));
        }
        self.stack.push(v);
        self.depths.push(depth);
        Ok(())
    }

    fn leaf(&mut self, v: Value) {
        self.stack.push(v);
        self.depths.push(0);
    }

    /// The value on top and its depth.
    fn pop_with_depth(&mut self) -> Result<(Value, u32), PickleError> {
        let v = self
            .stack
            .pop()
            .ok_or_else(|| self.bad("stack underflow"))?;
        Ok((v, self.depths.pop().unwrap_or(0)))
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        Ok(self.pop_with_depth()?.0)
    }

    /// The top `n` values and the largest depth among them, refusing objects not yet built
    /// (TorchScript builds every object before it puts it anywhere; a value that holds an
    /// object built later could nest without the depth showing).
    fn pop_items(&mut self, n: usize) -> Result<(Vec<Value>, u32), PickleError> {
        if self.stack.len() < n {
            return Err(self.bad("stack underflow"));
        }
        let at = self.stack.len() - n;
        let items = self.stack.split_off(at);
        let mut depth = self.depths.split_off(at).into_iter().max().unwrap_or(0);
        for v in &items {
            self.placeable(v)?;
            // An object's depth is its own (a memo copy of it was recorded before BUILD).
            if let Value::Object(o) = v {
                depth = depth.max(o.borrow().depth);
            }
        }
        Ok((items, depth))
    }

    fn placeable(&self, v: &Value) -> Result<(), PickleError> {
        match v {
            Value::Object(o) if !o.borrow().built => {
                Err(self.bad("an object is used before it is built"))
            }
            Value::Mark => Err(self.bad("a MARK inside a value")),
            _ => Ok(()),
        }
    }

    /// Pops everything above the topmost MARK, and the MARK.
    fn pop_mark(&mut self) -> Result<(Vec<Value>, u32), PickleError> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or_else(|| self.bad("no MARK on the stack"))?;
        let items = self.pop_items(self.stack.len() - at - 1)?;
        self.pop()?;
        Ok(items)
    }

    /// Raises the depth of the value on top to hold an item of depth `item`.
    fn deepen_top(&mut self, item: u32) -> Result<(), PickleError> {
        let d = self
            .depths
            .last_mut()
            .ok_or_else(|| PickleError::Malformed {
                offset: self.pos,
                what: "stack underflow".into(),
            })?;
        *d = (*d).max(item + 1);
        if *d > MAX_DEPTH {
            return Err(PickleError::Limit(format!(
                "nests values deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        let pos = self.pos;
        self.stack.last_mut().ok_or(PickleError::Malformed {
            offset: pos,
            what: "stack underflow".into(),
        })
    }

    /// Pushes a copy of memo entry `key` (objects and tensors are shared, containers copied,
    /// within [`MAX_MEMO_NODES`] in all).
    fn memo_get(&mut self, key: u32) -> Result<(), PickleError> {
        let (v, depth) = self
            .memo
            .get(&key)
            .ok_or_else(|| self.bad(format!("memo entry {key} is not set")))?;
        self.memo_nodes += nodes(v, MAX_MEMO_NODES - self.memo_nodes);
        if self.memo_nodes >= MAX_MEMO_NODES {
            return Err(PickleError::Limit(format!(
                "copies more than {MAX_MEMO_NODES} values through memo references"
            )));
        }
        let (v, depth) = (v.clone(), *depth);
        self.stack.push(v);
        self.depths.push(depth);
        Ok(())
    }

    fn memo_put(&mut self, key: u32) -> Result<(), PickleError> {
        let v = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| self.bad("stack underflow"))?;
        let depth = self.depths.last().copied().unwrap_or(0);
        self.memo.insert(key, (v, depth));
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
                b'.' => {
                    let v = self.pop()?;
                    self.placeable(&v)?;
                    return Ok(v);
                }
                b'N' => self.leaf(Value::None),
                0x88 => self.leaf(Value::Bool(true)),
                0x89 => self.leaf(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                    self.leaf(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.leaf(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.leaf(Value::Int(v as i64));
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
                    self.leaf(Value::Int(i64::from_le_bytes(buf)));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.leaf(Value::Float(v));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.string(n)?;
                    self.leaf(Value::Str(s));
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.string(n)?;
                    self.leaf(Value::Str(s));
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    self.take(n)?;
                    self.leaf(Value::Bytes);
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    self.take(n)?;
                    self.leaf(Value::Bytes);
                }
                b'(' => self.leaf(Value::Mark),
                b')' => self.leaf(Value::Tuple(Vec::new())),
                b't' => {
                    let (items, depth) = self.pop_mark()?;
                    self.push(Value::Tuple(items), depth + 1)?;
                }
                0x85..=0x87 => {
                    let (items, depth) = self.pop_items((op - 0x84) as usize)?;
                    self.push(Value::Tuple(items), depth + 1)?;
                }
                b']' => self.leaf(Value::List(Vec::new())),
                b'l' => {
                    let (items, depth) = self.pop_mark()?;
                    self.push(Value::List(items), depth + 1)?;
                }
                b'a' => {
                    let (mut v, depth) = self.pop_items(1)?;
                    match self.top()? {
                        Value::List(l) => l.push(v.pop().unwrap()),
                        _ => return Err(self.bad("APPEND to a non-list")),
                    }
                    self.deepen_top(depth)?;
                }
                b'e' => {
                    let (items, depth) = self.pop_mark()?;
                    match self.top()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err(self.bad("APPENDS to a non-list")),
                    }
                    self.deepen_top(depth)?;
                }
                b'}' => self.leaf(Value::Dict(Vec::new())),
                b'd' => {
                    let (items, depth) = self.pop_mark()?;
                    let dict = pairs(items).ok_or_else(|| self.bad("odd DICT items"))?;
                    self.push(Value::Dict(dict), depth + 1)?;
                }
                b's' => {
                    let (mut kv, depth) = self.pop_items(2)?;
                    let (v, k) = (kv.pop().unwrap(), kv.pop().unwrap());
                    match self.top()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err(self.bad("SETITEM on a non-dict")),
                    }
                    self.deepen_top(depth)?;
                }
                b'u' => {
                    let (items, depth) = self.pop_mark()?;
                    let new = pairs(items).ok_or_else(|| self.bad("odd SETITEMS items"))?;
                    match self.top()? {
                        Value::Dict(d) => d.extend(new),
                        _ => return Err(self.bad("SETITEMS on a non-dict")),
                    }
                    self.deepen_top(depth)?;
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
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.u32()?;
                    self.memo_get(k)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.leaf(Value::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.leaf(Value::Global(format!("{m}.{n}")))
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
                    self.leaf(Value::Object(Rc::new(RefCell::new(Object {
                        class,
                        ..Object::default()
                    }))));
                }
                b'b' => {
                    let (state, depth) = self.pop_with_depth()?;
                    let Value::Object(obj) = self.top()?.clone() else {
                        return Err(self.bad("BUILD on a non-object"));
                    };
                    let mut o = obj.borrow_mut();
                    if o.built {
                        return Err(self.bad("BUILD of an object already built"));
                    }
                    match state {
                        Value::Dict(d) => {
                            for (k, v) in d {
                                match k {
                                    Value::Str(k) => o.attrs.push((k, v)),
                                    _ => return Err(self.bad("object attribute name not a string")),
                                }
                            }
                        }
                        Value::None => {}
                        _ => return Err(self.bad("BUILD state is not a dict")),
                    }
                    (o.built, o.depth) = (true, depth + 1);
                    drop(o);
                    self.deepen_top(depth)?;
                }
                b'R' => {
                    let (args, depth) = self.pop_with_depth()?;
                    let func = self.pop()?;
                    let (Value::Global(func), Value::Tuple(args)) = (func, args) else {
                        return Err(self.bad("REDUCE of a non-function or non-tuple"));
                    };
                    // The result is an argument or a new scalar: no deeper than the arguments.
                    let v = self.call(&func, args)?;
                    self.push(v, depth)?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent(pid)?;
                    self.leaf(v);
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
                let numel = usize::try_from(*numel)
                    .map_err(|_| self.bad(format!("storage '{key}' has {numel} elements")))?;
                Ok(Value::Storage(key.clone(), dtype, numel))
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
        let stride: Vec<usize> = stride.iter().map(|&s| s as usize).collect();
        let too_large = || PickleError::BadStorage {
            key: key.clone(),
            what: format!(
                "a tensor view of size {shape:?}, stride {stride:?} does not fit its {} elements",
                values.len()
            ),
        };
        // Element count and the last element reached, checked before anything is allocated:
        // a view may repeat elements (stride 0) but not reach past its storage.
        let count = shape
            .iter()
            .try_fold(1usize, |n, &s| n.checked_mul(s))
            .ok_or_else(too_large)?;
        if count > 0 {
            let last = shape
                .iter()
                .zip(&stride)
                .try_fold(offset as usize, |at, (&n, &s)| {
                    (n - 1).checked_mul(s).and_then(|x| at.checked_add(x))
                })
                .ok_or_else(too_large)?;
            if last >= values.len() || count > values.len().saturating_mul(64) {
                return Err(too_large());
            }
        }
        let mut data = Vec::with_capacity(count);
        // Walk the view in row-major order through its strides (every index checked above).
        let mut index = vec![0usize; shape.len()];
        for _ in 0..count {
            let at = offset as usize
                + index
                    .iter()
                    .zip(&stride)
                    .map(|(&i, &s)| i * s)
                    .sum::<usize>();
            data.push(values[at]);
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
        let expected = numel
            .checked_mul(dtype.size())
            .ok_or_else(|| PickleError::BadStorage {
                key: key.to_owned(),
                what: format!("{numel} elements"),
            })?;
        let bytes = self.storages.storage(key, expected)?;
        if bytes.len() != expected {
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

/// Containers in `v`, counted up to `limit` (objects and tensors are shared, not counted).
fn nodes(v: &Value, limit: usize) -> usize {
    let mut count = 0;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        count += 1;
        if count >= limit {
            break;
        }
        match v {
            Value::Tuple(items) | Value::List(items) => todo.extend(items),
            Value::Dict(pairs) => todo.extend(pairs.iter().flat_map(|(k, v)| [k, v])),
            _ => {}
        }
    }
    count
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
