/* HMAC-SHA256 tokens of many values in one call, by OpenSSL's SHA-256 (see
   ingestion/array_signing.py, which falls back to Python's hashlib where this is not built).

   In Python an HMAC costs about a microsecond a value whatever the code (the calls, not the
   hashing); this loop, with the key's inner and outer states made once and copied for each
   value as RFC 2104 allows, takes about a sixth of that, and lets other threads run meanwhile. */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_API_COMPAT 0x10100000L
#include <Python.h>
#include <openssl/sha.h>
#include <string.h>

static const char HEX[] = "0123456789abcdef";

/* sign(inner_key_block, outer_key_block, prefix, offsets, data, count) -> bytes of hex tokens.
   inner/outer: the 64-byte key XOR ipad/opad; prefix hashed after the inner block; offsets:
   count + 1 int32 (Arrow's), data: the values' bytes. */
static PyObject *sign(PyObject *self, PyObject *args) {
    Py_buffer inner_key, outer_key, prefix, offsets, data;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*n", &inner_key, &outer_key, &prefix, &offsets, &data, &count))
        return NULL;
    PyObject *result = NULL;
    if (inner_key.len != 64 || outer_key.len != 64 || count < 0
        || offsets.len < (Py_ssize_t)((count + 1) * sizeof(int32_t))) {
        PyErr_SetString(PyExc_ValueError, "key blocks of 64 bytes and count + 1 offsets expected");
        goto done;
    }
    const int32_t *off = (const int32_t *)offsets.buf;
    for (Py_ssize_t i = 0; i <= count; i++) {
        if (off[i] < 0 || off[i] > data.len || (i && off[i] < off[i - 1])) {
            PyErr_SetString(PyExc_ValueError, "offsets out of the data");
            goto done;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, count * 64);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    const unsigned char *bytes = (const unsigned char *)data.buf;
    Py_BEGIN_ALLOW_THREADS
    SHA256_CTX inner, outer, ctx;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Init(&inner);
    SHA256_Update(&inner, inner_key.buf, 64);
    SHA256_Update(&inner, prefix.buf, prefix.len);
    SHA256_Init(&outer);
    SHA256_Update(&outer, outer_key.buf, 64);
    for (Py_ssize_t i = 0; i < count; i++) {
        ctx = inner;
        SHA256_Update(&ctx, bytes + off[i], off[i + 1] - off[i]);
        SHA256_Final(md, &ctx);
        ctx = outer;
        SHA256_Update(&ctx, md, SHA256_DIGEST_LENGTH);
        SHA256_Final(md, &ctx);
        for (int j = 0; j < SHA256_DIGEST_LENGTH; j++) {
            *out++ = HEX[md[j] >> 4];
            *out++ = HEX[md[j] & 15];
        }
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&inner_key);
    PyBuffer_Release(&outer_key);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"sign", sign, METH_VARARGS, "HMAC-SHA256 hex tokens of Arrow-laid-out values."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hmac_tokens", NULL, -1, methods};

PyMODINIT_FUNC PyInit__hmac_tokens(void) { return PyModule_Create(&module); }
