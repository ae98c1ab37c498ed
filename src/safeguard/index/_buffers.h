/*
 * Shared by the compiled kernels (index/_mih.c, _votes.c, _tree.c; pathways/_trees.c): a
 * C-contiguous view of an object that supports the buffer protocol (usually a numpy array or a memory map), whose
 * size must be a whole number of `itemsize`-byte items; on failure a Python error is set
 * naming `what`, and nothing is held.
 */
#ifndef SAFEGUARD_BUFFERS_H
#define SAFEGUARD_BUFFERS_H

#include <Python.h>  /* after PY_SSIZE_T_CLEAN, in the including file */

static int get_buf(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize,
                   const char *what) {
    if (PyObject_GetBuffer(obj, view, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                               : PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: buffer size is not a multiple of %zd", what,
                     itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#endif
