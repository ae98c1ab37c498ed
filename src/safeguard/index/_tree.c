/*
 * The descent of the word index's vocabulary tree (index/vocabulary.py) below its coarse
 * level, for many descriptors at once and with no temporary arrays (numpy's took most of
 * the time of filing a descriptor under its word):
 *
 *   descend(descriptors, top, middle, leaves, b1, b2, n, out)
 *       descriptors: uint8 (m, 32); top: int64 (m), each one's coarse centroid (of C);
 *       middle: uint8 (C, b1, 32), each coarse centroid's children; leaves: uint8
 *       (C * b1, b2, 32), each middle node's children; out: int64 (m, n), written.
 *       Each descriptor goes to its nearest middle child (the first of equals), then takes
 *       its n nearest leaves there, nearest first (equals: the first first), as word
 *       numbers (top * b1 + middle child) * b2 + leaf.
 * The GIL is released while descending.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_buffers.h"

static inline int distance(const uint8_t *a, const uint8_t *b) {
    uint64_t x[4], y[4];
    memcpy(x, a, 32);
    memcpy(y, b, 32);
    return __builtin_popcountll(x[0] ^ y[0]) + __builtin_popcountll(x[1] ^ y[1]) +
           __builtin_popcountll(x[2] ^ y[2]) + __builtin_popcountll(x[3] ^ y[3]);
}

static PyObject *py_descend(PyObject *self, PyObject *args) {
    PyObject *dobj, *tobj, *mobj, *lobj, *oobj;
    Py_ssize_t b1, b2, n;
    if (!PyArg_ParseTuple(args, "OOOOnnnO", &dobj, &tobj, &mobj, &lobj, &b1, &b2, &n, &oobj))
        return NULL;
    if (b1 < 1 || b2 < 1 || b2 > 256 || n < 1 || n > b2) {
        PyErr_SetString(PyExc_ValueError, "branches or n out of range");
        return NULL;
    }
    Py_buffer d = {0}, t = {0}, mid = {0}, leaf = {0}, out = {0};
    PyObject *result = NULL;
    if (get_buf(dobj, &d, 0, 32, "descriptors") < 0) goto done;
    if (get_buf(tobj, &t, 0, 8, "top") < 0) goto done;
    if (get_buf(mobj, &mid, 0, 32 * b1, "middle") < 0) goto done;
    if (get_buf(lobj, &leaf, 0, 32 * b2, "leaves") < 0) goto done;
    if (get_buf(oobj, &out, 1, 8 * n, "out") < 0) goto done;
    Py_ssize_t m = d.len / 32, coarse = mid.len / (32 * b1);
    if (t.len / 8 != m || out.len / (8 * n) != m || leaf.len / (32 * b2) != coarse * b1) {
        PyErr_SetString(PyExc_ValueError, "descriptors, top, levels and out do not fit together");
        goto done;
    }
    const uint8_t *desc = d.buf, *middle = mid.buf, *leaves = leaf.buf;
    const int64_t *top = t.buf;
    int64_t *words = out.buf;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    int best_d[256];
    int64_t best_i[256];
    for (Py_ssize_t i = 0; i < m && !bad; i++) {
        const uint8_t *x = desc + 32 * i;
        int64_t c = top[i];
        if (c < 0 || c >= coarse) { bad = 1; break; }
        int64_t node = c * b1, nearest = 0;
        int least = 257;
        for (Py_ssize_t j = 0; j < b1; j++) {
            int dist = distance(x, middle + 32 * (node + j));
            if (dist < least) { least = dist; nearest = j; }
        }
        node += nearest;
        Py_ssize_t kept = 0;  /* best_d/best_i: the n nearest so far, nearest first */
        for (Py_ssize_t j = 0; j < b2; j++) {
            int dist = distance(x, leaves + 32 * (node * b2 + j));
            if (kept == n && dist >= best_d[n - 1]) continue;
            Py_ssize_t at = kept < n ? kept++ : n - 1;
            while (at > 0 && best_d[at - 1] > dist) {
                best_d[at] = best_d[at - 1];
                best_i[at] = best_i[at - 1];
                at--;
            }
            best_d[at] = dist;
            best_i[at] = j;
        }
        for (Py_ssize_t k = 0; k < n; k++) words[n * i + k] = node * b2 + best_i[k];
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "a coarse centroid number is out of range");
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    if (d.obj) PyBuffer_Release(&d);
    if (t.obj) PyBuffer_Release(&t);
    if (mid.obj) PyBuffer_Release(&mid);
    if (leaf.obj) PyBuffer_Release(&leaf);
    if (out.obj) PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"descend", py_descend, METH_VARARGS, "The vocabulary tree's descent (see the file's top)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tree", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tree(void) { return PyModule_Create(&module); }
