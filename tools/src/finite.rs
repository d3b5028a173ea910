//! Refuses non-finite numbers in what a tool writes: serde_json turns NaN and infinity into
//! `null` without a word, so a report would silently lose a number. [`check`] walks any
//! serialisable value (as serde sees it) and names the first non-finite number by its path.
use serde::ser::{self, Serialize};

/// `Ok` when every float in `value` is finite, else the path of the first that is not, e.g.
/// `directions[2].D.std is NaN`.
pub fn check<T: Serialize + ?Sized>(value: &T) -> Result<(), String> {
    let mut walker = Walker { path: Vec::new() };
    value.serialize(&mut walker).map_err(|e| e.0)
}

#[derive(Debug)]
struct Found(String);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<M: std::fmt::Display>(msg: M) -> Found {
        Found(msg.to_string())
    }
}

struct Walker {
    path: Vec<String>,
}

impl Walker {
    fn float(&self, v: f64) -> Result<(), Found> {
        if v.is_finite() {
            return Ok(());
        }
        let mut at = String::new();
        for p in &self.path {
            if !p.starts_with('[') && !at.is_empty() {
                at.push('.');
            }
            at.push_str(p);
        }
        let at = if at.is_empty() { "the value" } else { &at };
        Err(Found(format!("{at} is {v}")))
    }

    fn nested<T: Serialize + ?Sized>(&mut self, key: String, v: &T) -> Result<(), Found> {
        self.path.push(key);
        let r = v.serialize(&mut *self);
        self.path.pop();
        r
    }
}

type R = Result<(), Found>;

impl ser::Serializer for &mut Walker {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_f64(self, v: f64) -> R {
        self.float(v)
    }
    fn serialize_f32(self, v: f32) -> R {
        self.float(v as f64)
    }
    fn serialize_bool(self, _: bool) -> R {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> R {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> R {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> R {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> R {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> R {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> R {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> R {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> R {
        Ok(())
    }
    fn serialize_char(self, _: char) -> R {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> R {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> R {
        Ok(())
    }
    fn serialize_none(self) -> R {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> R {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> R {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> R {
        self.nested(variant.to_owned(), v)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Found> {
        self.path.push("[0]".into());
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, Found> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self, Found> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Self, Found> {
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Found> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Found> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Found> {
        Ok(self)
    }
}

/// Sequences count their elements in the last path entry, `[k]`.
impl Walker {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> R {
        let r = v.serialize(&mut *self);
        if let Some(last) = self.path.last_mut() {
            let k: usize = last[1..last.len() - 1].parse().unwrap_or(0);
            *last = format!("[{}]", k + 1);
        }
        r
    }

    fn end_seq(&mut self) -> R {
        self.path.pop();
        Ok(())
    }
}

/// The four sequence-like compounds, element by element.
macro_rules! sequence {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for &mut Walker {
            type Ok = ();
            type Error = Found;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> R {
                self.element(v)
            }
            fn end(self) -> R {
                self.end_seq()
            }
        }
    )*};
}
sequence!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for &mut Walker {
    type Ok = ();
    type Error = Found;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> R {
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> R {
        self.nested("[value]".into(), v)
    }
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(&mut self, k: &K, v: &V) -> R {
        // name the entry by its key when the key is a string
        let key = serde_json::to_value(k)
            .ok()
            .and_then(|k| k.as_str().map(str::to_owned))
            .unwrap_or_else(|| "[value]".into());
        self.nested(key, v)
    }
    fn end(self) -> R {
        Ok(())
    }
}

/// The two struct-like compounds, field by field.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Walker {
            type Ok = ();
            type Error = Found;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, v: &T) -> R {
                self.nested(name.to_owned(), v)
            }
            fn end(self) -> R {
                Ok(())
            }
        }
    )*};
}
fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Coefficient {
        value: f64,
        std: f64,
    }

    #[derive(Serialize)]
    struct Report {
        name: String,
        points: Vec<Coefficient>,
        per_element: BTreeMap<String, f64>,
        bound: Option<f64>,
        cell: [[f64; 3]; 2],
    }

    #[test]
    fn names_the_first_non_finite_number_by_its_path() {
        let mut r = Report {
            name: "x".into(),
            points: vec![
                Coefficient {
                    value: 1.0,
                    std: 0.1,
                },
                Coefficient {
                    value: 2.0,
                    std: 0.2,
                },
            ],
            per_element: [("Na".to_string(), 3.0)].into(),
            bound: None,
            cell: [[1.0; 3]; 2],
        };
        assert_eq!(check(&r), Ok(()));
        r.points[1].std = f64::NAN;
        assert_eq!(check(&r), Err("points[1].std is NaN".into()));
        r.points[1].std = 0.2;
        r.per_element.insert("S".into(), f64::INFINITY);
        assert_eq!(check(&r), Err("per_element.S is inf".into()));
        r.per_element.remove("S");
        r.bound = Some(f64::NEG_INFINITY);
        assert_eq!(check(&r), Err("bound is -inf".into()));
        r.bound = None;
        r.cell[1][2] = f64::NAN;
        assert_eq!(check(&r), Err("cell[1][2] is NaN".into()));
    }
}
