"""Minimal independent GGUF v2/v3 reader for the numpy reference (struct + numpy memmap)."""
# Written from the GGUF specification (ggml/docs/gguf.md), sharing nothing with the C
# reader in lib/format/gguf.c, so that the two can check each other.

import struct

import numpy as np

GGUF_MAGIC = b"GGUF"

# Metadata value types.
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY, \
    _UINT64, _INT64, _FLOAT64 = range(13)

_SCALAR_FORMATS = {
    _UINT8: "<B", _INT8: "<b", _UINT16: "<H", _INT16: "<h", _UINT32: "<I", _INT32: "<i",
    _FLOAT32: "<f", _BOOL: "<?", _UINT64: "<Q", _INT64: "<q", _FLOAT64: "<d",
}
_SCALAR_DTYPES = {
    _UINT8: "<u1", _INT8: "<i1", _UINT16: "<u2", _INT16: "<i2", _UINT32: "<u4", _INT32: "<i4",
    _FLOAT32: "<f4", _BOOL: "<u1", _UINT64: "<u8", _INT64: "<i8", _FLOAT64: "<f8",
}

# ggml tensor types: id -> (name, elements per block, bytes per block).
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8),
    28: ("F64", 1, 8), 30: ("BF16", 1, 2),
}
GGML_TYPE_IDS = {name: type_id for type_id, (name, _, _) in GGML_TYPES.items()}


class GGUFError(Exception):
    pass


class Tensor:
    """One tensor: `dims` as stored (dims[0] contiguous); `shape` is numpy order."""

    def __init__(self, name, dims, type_id, offset):
        self.name = name
        self.dims = tuple(dims)
        self.type_id = type_id
        self.offset = offset
        self.raw = None  # uint8 view into the memmap, set once the data offset is known

    @property
    def shape(self):
        return tuple(reversed(self.dims))

    @property
    def n_elements(self):
        n = 1
        for d in self.dims:
            n *= d
        return n

    @property
    def type_name(self):
        return GGML_TYPES[self.type_id][0] if self.type_id in GGML_TYPES else "?%d" % self.type_id

    @property
    def n_bytes(self):
        if self.type_id not in GGML_TYPES:
            raise GGUFError("tensor %r: unknown ggml type %d" % (self.name, self.type_id))
        _, block, block_bytes = GGML_TYPES[self.type_id]
        if self.dims[0] % block:
            raise GGUFError("tensor %r: row of %d not a multiple of block %d"
                            % (self.name, self.dims[0], block))
        return self.n_elements // block * block_bytes


class _Cursor:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise GGUFError("truncated at byte %d (need %d more)" % (self.pos, n))
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def string(self):
        n = self.unpack("<Q")
        return bytes(self.take(n)).decode("utf-8", errors="surrogateescape")

    def value(self, vtype):
        if vtype in _SCALAR_FORMATS:
            return self.unpack(_SCALAR_FORMATS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.unpack("<I")
            count = self.unpack("<Q")
            if etype in _SCALAR_DTYPES:
                dtype = np.dtype(_SCALAR_DTYPES[etype])
                arr = np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype).copy()
                return arr.astype(bool) if etype == _BOOL else arr
            return [self.value(etype) for _ in range(count)]
        raise GGUFError("unknown metadata value type %d at byte %d" % (vtype, self.pos))


class GGUFFile:
    """Parses the header eagerly; tensor data stays in a read-only memmap."""

    def __init__(self, path):
        self.path = path
        self.mm = np.memmap(path, dtype=np.uint8, mode="r")
        cur = _Cursor(self.mm)
        if bytes(cur.take(4)) != GGUF_MAGIC:
            raise GGUFError("%s: not a GGUF file (bad magic)" % path)
        self.version = cur.unpack("<I")
        if self.version not in (2, 3):
            raise GGUFError("%s: unsupported GGUF version %d" % (path, self.version))
        n_tensors = cur.unpack("<Q")
        n_kv = cur.unpack("<Q")
        self.metadata = {}
        self.metadata_types = {}
        for _ in range(n_kv):
            key = cur.string()
            vtype = cur.unpack("<I")
            self.metadata[key] = cur.value(vtype)
            self.metadata_types[key] = vtype
        self.tensors = {}
        self.tensor_order = []
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = cur.unpack("<I")
            dims = [cur.unpack("<Q") for _ in range(n_dims)]
            type_id = cur.unpack("<I")
            offset = cur.unpack("<Q")
            self.tensors[name] = Tensor(name, dims, type_id, offset)
            self.tensor_order.append(name)
        self.alignment = int(self.metadata.get("general.alignment", 32))
        self.data_offset = -(-cur.pos // self.alignment) * self.alignment
        for t in self.tensors.values():
            start = self.data_offset + t.offset
            end = start + t.n_bytes
            if end > len(self.mm):
                raise GGUFError("tensor %r: data [%d, %d) past end of file (%d)"
                                % (t.name, start, end, len(self.mm)))
            t.raw = self.mm[start:end]

    @property
    def architecture(self):
        return self.metadata["general.architecture"]

    def get(self, key, default=None):
        return self.metadata.get(key, default)

    def arch_get(self, suffix, default=None):
        return self.metadata.get("%s.%s" % (self.architecture, suffix), default)

    def has(self, name):
        return name in self.tensors

    def tensor(self, name, dtype=np.float32):
        """Tensor `name` as a dense array of `dtype` in numpy shape (dims reversed)."""
        if name not in self.tensors:
            raise KeyError(name)
        t = self.tensors[name]
        return dequantize_raw(t.type_id, t.raw, t.n_elements).astype(dtype, copy=False) \
            .reshape(t.shape)


def dequantize_raw(type_id, raw, n_elements):
    """Float32 values of `n_elements` elements of ggml type `type_id` stored in `raw`."""
    raw = np.asarray(raw, dtype=np.uint8)
    if type_id == 0:
        return raw.view("<f4")[:n_elements].astype(np.float32)
    if type_id == 1:
        return raw.view("<f2")[:n_elements].astype(np.float32)
    if type_id == 30:
        bits = raw.view("<u2")[:n_elements].astype(np.uint32) << 16
        return bits.view(np.float32)
    if type_id == 28:
        return raw.view("<f8")[:n_elements].astype(np.float32)
    quants = _import_quants()
    return np.asarray(quants.dequantize(type_id, raw, n_elements), dtype=np.float32)


def _import_quants():
    """tests/ref/quants.py (the reference dequantizers), imported as a package member or
    as a top-level module, whichever way the caller put tests/ref on the path."""
    try:
        from . import quants
        return quants
    except ImportError:
        pass
    try:
        import quants
        return quants
    except ImportError as exc:
        raise NotImplementedError("tests/ref/quants.py is not available: %s" % exc)
