/*
 * The pathways model's tree walk (pathways/model.py): every row through every tree, in C,
 * because scoring (every few hours, every account in touch with a child) and evaluation
 * (hundreds of checkpoints) spend most of their time here.
 *
 *   raw(x, n_features, roots, feature, threshold, left, right, leaf, value, missing_left)
 *       -> bytes: n float64, each row's sum over the trees of the leaf value it reaches
 *   x: float64 rows, C order (n * n_features); roots: int64, each tree's first node; per
 *   node (all trees' nodes in one table): feature int64, threshold float64, left and right
 *   int64 (node numbers in the table), leaf uint8, value float64, missing_left uint8. A row
 *   goes left when its value is <= the threshold, or is NaN and missing_left is set
 *   (scikit-learn's layout). The table is checked first (every branch inside it, every
 *   feature inside a row), and a walk longer than the table (a cycle) is refused, so a
 *   damaged model file raises ValueError instead of reading out of bounds or hanging.
 * The GIL is released while walking.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

#include "../index/_buffers.h"

enum { X, ROOTS, FEATURE, THRESHOLD, LEFT, RIGHT, LEAF, VALUE, MISSING, NBUF };

static PyObject *py_raw(PyObject *self, PyObject *args) {
    PyObject *obj[NBUF];
    Py_ssize_t nf;
    if (!PyArg_ParseTuple(args, "OnOOOOOOOO", &obj[X], &nf, &obj[ROOTS], &obj[FEATURE],
                          &obj[THRESHOLD], &obj[LEFT], &obj[RIGHT], &obj[LEAF], &obj[VALUE],
                          &obj[MISSING]))
        return NULL;
    static const Py_ssize_t size[NBUF] = {8, 8, 8, 8, 8, 8, 1, 8, 1};
    static const char *name[NBUF] = {"x", "roots", "feature", "threshold", "left",
                                     "right", "leaf", "value", "missing_left"};
    Py_buffer b[NBUF];
    int got = 0;
    PyObject *result = NULL;
    for (; got < NBUF; got++)
        if (get_buf(obj[got], &b[got], 0, size[got], name[got]) < 0) goto done;
    Py_ssize_t nodes = b[LEAF].len;
    for (int i = FEATURE; i < NBUF; i++) {
        if (b[i].len / size[i] != nodes) {
            PyErr_Format(PyExc_ValueError, "%s: %zd nodes, expected %zd", name[i],
                         b[i].len / size[i], nodes);
            goto done;
        }
    }
    if (nf < 1 || (b[X].len / 8) % nf != 0) {
        PyErr_SetString(PyExc_ValueError, "x is not a whole number of rows of n_features");
        goto done;
    }
    const double *x = b[X].buf, *thr = b[THRESHOLD].buf, *val = b[VALUE].buf;
    const int64_t *roots = b[ROOTS].buf, *feat = b[FEATURE].buf, *lft = b[LEFT].buf,
                  *rgt = b[RIGHT].buf;
    const uint8_t *leaf = b[LEAF].buf, *miss = b[MISSING].buf;
    Py_ssize_t trees = b[ROOTS].len / 8, n = b[X].len / 8 / nf;
    for (Py_ssize_t t = 0; t < trees; t++) {
        if (roots[t] < 0 || roots[t] >= nodes) {
            PyErr_SetString(PyExc_ValueError, "a tree's root is outside the node table");
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < nodes; k++) {
        if (!leaf[k] && (feat[k] < 0 || feat[k] >= nf || lft[k] < 0 || lft[k] >= nodes ||
                         rgt[k] < 0 || rgt[k] >= nodes)) {
            PyErr_Format(PyExc_ValueError, "node %zd: feature or branch out of range", k);
            goto done;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, n * 8);
    if (result == NULL) goto done;
    double *out = (double *)PyBytes_AS_STRING(result);
    int cycle = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && !cycle; i++) {
        const double *row = x + i * nf;
        double sum = 0.0;
        for (Py_ssize_t t = 0; t < trees; t++) {
            int64_t k = roots[t];
            for (Py_ssize_t steps = 0; !leaf[k]; steps++) {
                if (steps > nodes) {
                    cycle = 1;
                    break;
                }
                double v = row[feat[k]];
                int go_left = isnan(v) ? miss[k] : v <= thr[k];
                k = go_left ? lft[k] : rgt[k];
            }
            sum += val[k];
        }
        out[i] = sum;
    }
    Py_END_ALLOW_THREADS
    if (cycle) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "a tree's branches form a cycle");
    }
done:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"raw", py_raw, METH_VARARGS, "Sum of leaf values per row (see the file's top)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_trees", NULL, -1, methods};

PyMODINIT_FUNC PyInit__trees(void) { return PyModule_Create(&module); }
