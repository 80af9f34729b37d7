//! The Arrow C data interface, by hand (no arrow crate): a struct array of int32 and utf8 columns
//! exported as the `arrow_schema` / `arrow_array` PyCapsules pyarrow imports without a copy.
//! Every child array owns its buffers and has its own release callback (the parent's releases the
//! children), as the specification asks, so a consumer may move children out.

use std::ffi::{c_char, c_void, CString};
use std::ptr;

use crate::columns::StrCol;

#[repr(C)]
pub struct FfiSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut FfiSchema,
    dictionary: *mut FfiSchema,
    release: Option<unsafe extern "C" fn(*mut FfiSchema)>,
    private_data: *mut c_void,
}

#[repr(C)]
pub struct FfiArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut FfiArray,
    dictionary: *mut FfiArray,
    release: Option<unsafe extern "C" fn(*mut FfiArray)>,
    private_data: *mut c_void,
}

// The structs are handed over whole; nothing is shared between threads.
unsafe impl Send for FfiSchema {}
unsafe impl Send for FfiArray {}

const ARROW_FLAG_NULLABLE: i64 = 2;

/// One column's data.
pub enum Column {
    Int32(Vec<i32>),
    Utf8(StrCol),
}

struct SchemaPrivate {
    _format: CString,
    _name: CString,
    children: Vec<*mut FfiSchema>,
}

unsafe extern "C" fn release_schema(schema: *mut FfiSchema) {
    if schema.is_null() || (*schema).release.is_none() {
        return;
    }
    let private = Box::from_raw((*schema).private_data as *mut SchemaPrivate);
    for &child in &private.children {
        if let Some(release) = (*child).release {
            release(child);
        }
        drop(Box::from_raw(child));
    }
    drop(private);
    (*schema).release = None;
}

fn new_schema(format: &str, name: &str, flags: i64, children: Vec<*mut FfiSchema>) -> FfiSchema {
    let format = CString::new(format).unwrap();
    let name = CString::new(name).unwrap();
    let mut private = Box::new(SchemaPrivate {
        _format: format,
        _name: name,
        children,
    });
    let schema = FfiSchema {
        format: private._format.as_ptr(),
        name: private._name.as_ptr(),
        metadata: ptr::null(),
        flags,
        n_children: private.children.len() as i64,
        children: if private.children.is_empty() {
            ptr::null_mut()
        } else {
            private.children.as_mut_ptr()
        },
        dictionary: ptr::null_mut(),
        release: Some(release_schema),
        private_data: ptr::null_mut(),
    };
    FfiSchema {
        private_data: Box::into_raw(private) as *mut c_void,
        ..schema
    }
}

struct ArrayPrivate {
    _column: Option<Column>,
    buffers: Vec<*const c_void>,
    children: Vec<*mut FfiArray>,
}

unsafe extern "C" fn release_array(array: *mut FfiArray) {
    if array.is_null() || (*array).release.is_none() {
        return;
    }
    let private = Box::from_raw((*array).private_data as *mut ArrayPrivate);
    for &child in &private.children {
        if let Some(release) = (*child).release {
            release(child);
        }
        drop(Box::from_raw(child));
    }
    drop(private);
    (*array).release = None;
}

fn buffer_ptr<T>(v: &[T]) -> *const c_void {
    if v.is_empty() {
        ptr::null()
    } else {
        v.as_ptr() as *const c_void
    }
}

fn column_array(column: Column) -> FfiArray {
    let (length, null_count, buffers) = match &column {
        Column::Int32(v) => (v.len(), 0, vec![ptr::null(), buffer_ptr(v)]),
        Column::Utf8(c) => {
            let validity = match (&c.validity, c.nulls) {
                (Some(bits), n) if n > 0 => bits.as_ptr() as *const c_void,
                _ => ptr::null(),
            };
            (
                c.len(),
                c.nulls,
                vec![
                    validity,
                    c.offsets.as_ptr() as *const c_void,
                    buffer_ptr(&c.data),
                ],
            )
        }
    };
    let mut private = Box::new(ArrayPrivate {
        _column: Some(column),
        buffers,
        children: Vec::new(),
    });
    let buffers_ptr = private.buffers.as_mut_ptr();
    let n_buffers = private.buffers.len() as i64;
    FfiArray {
        length: length as i64,
        null_count: null_count as i64,
        offset: 0,
        n_buffers,
        n_children: 0,
        buffers: buffers_ptr,
        children: ptr::null_mut(),
        dictionary: ptr::null_mut(),
        release: Some(release_array),
        private_data: Box::into_raw(private) as *mut c_void,
    }
}

/// A record batch (struct array) of named columns, all of the same length.
pub fn export_batch(columns: Vec<(&str, Column)>, length: usize) -> (FfiSchema, FfiArray) {
    let mut schema_children = Vec::with_capacity(columns.len());
    let mut array_children = Vec::with_capacity(columns.len());
    for (name, column) in columns {
        let format = match column {
            Column::Int32(_) => "i",
            Column::Utf8(_) => "u",
        };
        schema_children.push(Box::into_raw(Box::new(new_schema(
            format,
            name,
            ARROW_FLAG_NULLABLE,
            Vec::new(),
        ))));
        array_children.push(Box::into_raw(Box::new(column_array(column))));
    }
    let schema = new_schema("+s", "", 0, schema_children);
    let mut private = Box::new(ArrayPrivate {
        _column: None,
        buffers: vec![ptr::null()],
        children: array_children,
    });
    let array = FfiArray {
        length: length as i64,
        null_count: 0,
        offset: 0,
        n_buffers: 1,
        n_children: private.children.len() as i64,
        buffers: private.buffers.as_mut_ptr(),
        children: private.children.as_mut_ptr(),
        dictionary: ptr::null_mut(),
        release: Some(release_array),
        private_data: ptr::null_mut(),
    };
    (
        schema,
        FfiArray {
            private_data: Box::into_raw(private) as *mut c_void,
            ..array
        },
    )
}

/// Releases a struct the consumer did not take (its release is cleared once moved).
pub fn drop_schema(mut s: FfiSchema) {
    if s.release.is_some() {
        unsafe { release_schema(&mut s) }
    }
}

pub fn drop_array(mut a: FfiArray) {
    if a.release.is_some() {
        unsafe { release_array(&mut a) }
    }
}
