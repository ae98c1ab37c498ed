/*
 * Vote counting of the word index (index/words.py): the part of a lookup whose cost grows
 * with the bank, done without a numpy array the size of the bank.
 *
 *   count(sources, words, alive, copies, min_votes) -> (candidates bytes, votes bytes)
 *       sources: sequence of (offsets int64, postings uint32) inverted files (CSR: the
 *       copies listed under word w are postings[offsets[w]:offsets[w + 1]]);
 *       words: int64 word numbers (each counted once per time it is given);
 *       alive: uint8, one per copy (0: removed); copies: how many copies there are.
 *       Every copy listed under a word gets a vote (saturating at 255); returns the alive
 *       copies with at least `min_votes` votes (uint32, in the order first voted for) and
 *       their votes (uint8).
 * Counters are a zeroed buffer of its own per call, so calls on several threads are
 * independent; the GIL is released while counting.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_buffers.h"

typedef struct {
    Py_buffer offsets, postings;
} Source;

static PyObject *py_count(PyObject *self, PyObject *args) {
    PyObject *so, *wo, *ao;
    Py_ssize_t copies;
    int min_votes;
    if (!PyArg_ParseTuple(args, "OOOni", &so, &wo, &ao, &copies, &min_votes)) return NULL;
    if (copies < 0 || copies > UINT32_MAX || min_votes < 1 || min_votes > 255) {
        PyErr_SetString(PyExc_ValueError, "copies or min_votes out of range");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(so, "sources must be a sequence");
    if (seq == NULL) return NULL;
    Py_ssize_t ns = PySequence_Fast_GET_SIZE(seq);
    Source *src = calloc(ns > 0 ? ns : 1, sizeof(Source));
    Py_buffer wb = {0}, ab = {0};
    PyObject *result = NULL;
    Py_ssize_t got = 0;
    int ok = src != NULL;
    for (Py_ssize_t i = 0; ok && i < ns; i++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *oo, *po;
        if (!PyArg_ParseTuple(pair, "OO", &oo, &po)) { ok = 0; break; }
        if (get_buf(oo, &src[i].offsets, 0, 8, "offsets") < 0) { ok = 0; break; }
        if (get_buf(po, &src[i].postings, 0, 4, "postings") < 0) {
            PyBuffer_Release(&src[i].offsets);
            ok = 0;
            break;
        }
        got = i + 1;
    }
    if (ok && get_buf(wo, &wb, 0, 8, "words") < 0) ok = 0;
    if (ok && get_buf(ao, &ab, 0, 1, "alive") < 0) ok = 0;
    if (ok && ab.len < copies) {
        PyErr_SetString(PyExc_ValueError, "alive is shorter than copies");
        ok = 0;
    }
    if (!ok) goto done;

    const int64_t *words = wb.buf;
    Py_ssize_t nw = wb.len / 8;
    const uint8_t *alive = ab.buf;
    uint8_t *counters = calloc(copies > 0 ? copies : 1, 1);
    size_t cap = 4096, nt = 0;
    uint32_t *touched = malloc(cap * sizeof(uint32_t));
    int bad = 0, nomem = counters == NULL || touched == NULL;
    size_t keep = 0;  /* candidates over touched, their votes kept in counters */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t s = 0; !nomem && !bad && s < got; s++) {
        const int64_t *off = src[s].offsets.buf;
        Py_ssize_t nwords = src[s].offsets.len / 8 - 1;
        const uint32_t *post = src[s].postings.buf;
        Py_ssize_t npost = src[s].postings.len / 4;
        for (Py_ssize_t i = 0; i < nw && !nomem; i++) {
            int64_t w = words[i];
            if (w < 0 || w >= nwords) { bad = 1; break; }
            int64_t a = off[w], b = off[w + 1];
            if (a < 0 || b < a || b > npost) { bad = 1; break; }
            for (int64_t j = a; j < b; j++) {
                uint32_t c = post[j];
                if (c >= (uint64_t)copies) { bad = 1; break; }
                if (counters[c] == 0) {
                    if (nt == cap) {
                        uint32_t *more = realloc(touched, 2 * cap * sizeof(uint32_t));
                        if (more == NULL) { nomem = 1; break; }
                        touched = more;
                        cap *= 2;
                    }
                    touched[nt++] = c;
                }
                if (counters[c] < 255) counters[c]++;
            }
            if (bad) break;
        }
    }
    if (!nomem && !bad)
        for (size_t t = 0; t < nt; t++) {
            uint32_t c = touched[t];
            if (counters[c] >= min_votes && alive[c]) touched[keep++] = c;
        }
    Py_END_ALLOW_THREADS
    if (nomem) {
        PyErr_NoMemory();
    } else if (bad) {
        PyErr_SetString(PyExc_ValueError, "an inverted file names a word or copy out of range");
    } else {
        PyObject *cands = PyBytes_FromStringAndSize((const char *)touched, keep * 4);
        PyObject *votes = PyBytes_FromStringAndSize(NULL, keep);
        if (cands != NULL && votes != NULL) {
            uint8_t *v = (uint8_t *)PyBytes_AS_STRING(votes);
            for (size_t t = 0; t < keep; t++) v[t] = counters[touched[t]];
            result = PyTuple_Pack(2, cands, votes);
        }
        Py_XDECREF(cands);
        Py_XDECREF(votes);
    }
    free(counters);
    free(touched);
done:
    for (Py_ssize_t i = 0; i < got; i++) {
        PyBuffer_Release(&src[i].offsets);
        PyBuffer_Release(&src[i].postings);
    }
    if (wb.obj) PyBuffer_Release(&wb);
    if (ab.obj) PyBuffer_Release(&ab);
    free(src);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"count", py_count, METH_VARARGS, "Votes of a word index's lookup (see the file's top)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_votes", NULL, -1, methods};

PyMODINIT_FUNC PyInit__votes(void) { return PyModule_Create(&module); }
