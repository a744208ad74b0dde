/* The eos._eos module: only the list of concerns; each adds its own functions. */
#include "eos_py.h"

typedef int (*eos_py_adder)(PyObject *);

static const eos_py_adder adders[] = {
	eos_py_add_size,
	eos_py_add_spawn,
	eos_py_add_ceph,
	eos_py_add_probe,
	eos_py_add_lvm,
	eos_py_add_walk,
	eos_py_add_analyze,
	eos_py_add_cleanup,
	eos_py_add_expand,
	eos_py_add_roles,
	eos_py_add_health,
	eos_py_add_btrfs,
	eos_py_add_provision,
	eos_py_add_copy,
	eos_py_add_convert,
	eos_py_add_lvm_ensure,
};

static struct PyModuleDef moduledef = {
	PyModuleDef_HEAD_INIT, "eos._eos", "The eos storage library (C).", -1,
	NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__eos(void)
{
	PyObject *m = PyModule_Create(&moduledef);
	if (!m)
		return NULL;
#ifdef EOS_TEST_HOOKS
	PyObject *hooks = Py_True;
#else
	PyObject *hooks = Py_False;
#endif
	/* Whether this is the test build (crash-injection hooks compiled in, see setup.py). */
	if (PyModule_AddObjectRef(m, "TEST_HOOKS", hooks) < 0 || eos_py_errors_init(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(adders) / sizeof(adders[0]); i++) {
		if (adders[i](m) < 0) {
			Py_DECREF(m);
			return NULL;
		}
	}
	return m;
}
