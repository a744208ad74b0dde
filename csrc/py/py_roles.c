/* Binding for the role calculation: plain lists and dicts in, a plan dict out. */
#include "eos_py.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eos/ops/roles.h"

/* The input's strings (ids, zones), copied one after the other while each is in cache: the
 * calculation reads them without the GIL and more than once (check, sort, match), and reads
 * them from here in order, where the str objects lie all over the heap. Offsets while the
 * buffer grows; pointers once it is complete (texts_finish). */
struct texts {
	struct eos_buf b;
	size_t *off;    /* per string kept, its offset in b */
	size_t n;
};

/* Keep the len bytes at c (no NUL among them) and a NUL; -1 with MemoryError. */
static int texts_add(struct texts *t, const char *c, Py_ssize_t len)
{
	t->off[t->n++] = t->b.len;
	if (eos_buf_append(&t->b, c, (size_t)len + 1)) {
		PyErr_NoMemory();
		return -1;
	}
	return 0;
}

static const char *texts_at(const struct texts *t, size_t k)
{
	return t->b.data + t->off[k];
}

/* The keys of a node dict and of the result, made once: a lookup by an interned str skips
 * building and hashing a key each time (100,000 nodes, six lookups each). */
enum { K_ID, K_CPUS, K_MEM, K_DISK, K_PUBLIC, K_ZONE, K_ADDED, K_REMOVED, K_NEW, K_DEPARTED, K_COUNT };
static const char *const key_names[K_COUNT] = {
	"id", "cpus", "mem_bytes", "disk_bytes", "public", "zone", "added", "removed", "new", "departed",
};
static PyObject *keys[K_COUNT];
#define NODE_FIELDS 6   /* K_ID .. K_ZONE */

static int bad(const char *fmt, PyObject *o)
{
	eos_py_einval(fmt, o);
	return -1;
}

/* A bad field of node i (id: its id when known): EINVAL naming the node, the field and the
 * value (v NULL: missing). */
static int field_bad(PyObject *id, Py_ssize_t i, const char *field, const char *want, PyObject *v)
{
	PyObject *who = id ? PyUnicode_FromFormat("node %R", id)
			   : PyUnicode_FromFormat("node %zd of the inventory", i);
	PyObject *m = !who ? NULL : v ? PyUnicode_FromFormat("%U: field '%s' must be %s, got %R", who,
							     field, want, v)
				      : PyUnicode_FromFormat("%U: field '%s' is missing (%s)", who, field, want);
	Py_XDECREF(who);
	const char *msg = m ? PyUnicode_AsUTF8(m) : NULL;
	if (msg) {
		struct eos_err e;
		eos_err_clear(&e);
		eos_fail(&e, EINVAL, NULL, "%s", msg);
		eos_py_raise(&e);
	}
	Py_XDECREF(m);
	return -1;
}

/* A string field without NUL bytes (C would see a shorter one), kept in t. */
static int get_str(PyObject *id, Py_ssize_t i, const char *field, PyObject *v, struct texts *t)
{
	Py_ssize_t len;
	const char *c = PyUnicode_Check(v) ? PyUnicode_AsUTF8AndSize(v, &len) : NULL;
	if (!c) {
		PyErr_Clear();
		return field_bad(id, i, field, "a string", v);
	}
	if (memchr(c, 0, (size_t)len))
		return field_bad(id, i, field, "a string without NUL bytes", v);
	return texts_add(t, c, len);
}

/* A non-negative integer field (v NULL or None: missing -> 0, or an error when required). */
static int get_u64(PyObject *v, PyObject *id, Py_ssize_t i, const char *key, int required,
		   unsigned long long *out)
{
	*out = 0;
	if (!v || v == Py_None)
		return required ? field_bad(id, i, key, "a whole number", NULL) : 0;
	if (!PyBool_Check(v) && PyLong_Check(v)) {
		/* unsigned long is 64 bits here: its conversion reads the digits directly, where
		 * the long long one goes through a byte array. */
		_Static_assert(sizeof(unsigned long) == sizeof(unsigned long long), "LP64");
		*out = PyLong_AsUnsignedLong(v);
		if (!PyErr_Occurred())
			return 0;
		PyErr_Clear();
	}
	return field_bad(id, i, key, "a non-negative integer", v);
}

/* The fields of node dict d into v (NULL: absent), in one walk over its entries (six hash
 * lookups per node cost more). A key is matched by identity with the interned names first (keys
 * written in Python source are interned), else by its text; a key whose text only starts with a
 * name (an embedded NUL) is no field and is ignored. Returns the first key that is no node
 * field, or NULL. */
static PyObject *node_fields(PyObject *d, PyObject **v)
{
	PyObject *k, *val, *unknown = NULL;
	for (int f = 0; f < NODE_FIELDS; f++)
		v[f] = NULL;
	for (Py_ssize_t pos = 0; PyDict_Next(d, &pos, &k, &val);) {
		int f = 0;
		while (f < NODE_FIELDS && k != keys[f])
			f++;
		if (f < NODE_FIELDS) {
			v[f] = val;
			continue;
		}
		Py_ssize_t len;
		const char *key = PyUnicode_Check(k) ? PyUnicode_AsUTF8AndSize(k, &len) : NULL;
		for (f = 0; key && f < NODE_FIELDS && strcmp(key, key_names[f]); f++)
			;
		if (!key || f == NODE_FIELDS) {
			PyErr_Clear();
			unknown = unknown ? unknown : k;
		} else if ((size_t)len == strlen(key)) {
			v[f] = val;
		}
	}
	return unknown;
}

/* Where nd->zone points, until texts_finish, when the node has a zone (its text is in t). */
static const char zone_kept[] = "";

/* One node dict into nd (strings kept in t: the id, then the zone when it has one; a new
 * reference to the id object in *id_out). The C
 * library checks the bounds. */
static int get_node(PyObject *d, Py_ssize_t i, struct eos_role_node *nd, struct texts *t,
		    PyObject **id_out)
{
	if (!PyDict_Check(d))
		return bad("a node must be a dict with 'id', 'cpus', 'mem_bytes', 'disk_bytes', got %s", d);
	PyObject *v[NODE_FIELDS];
	PyObject *unknown = node_fields(d, v);
	PyObject *id = v[K_ID];
	if (!id)
		return field_bad(NULL, i, "id", "the minion id, a string", NULL);
	if (get_str(NULL, i, "id", id, t))
		return -1;
	/* The result's key (kept alive while the GIL is released): the caller's str itself, or
	 * a plain str of a str subclass's text. */
	*id_out = PyUnicode_CheckExact(id) ? Py_NewRef(id) : PyUnicode_FromString(texts_at(t, t->n - 1));
	if (!*id_out)
		return -1;
	if (unknown)
		return field_bad(id, i, "?", "one of id, cpus, mem_bytes, disk_bytes, public, zone", unknown);
	if (v[K_ZONE] && v[K_ZONE] != Py_None) {
		if (get_str(id, i, "zone", v[K_ZONE], t))
			return -1;
		nd->zone = zone_kept;
	}
	unsigned long long cpus, mem, disk;
	if (get_u64(v[K_CPUS], id, i, "cpus", 1, &cpus) || get_u64(v[K_MEM], id, i, "mem_bytes", 1, &mem) ||
	    get_u64(v[K_DISK], id, i, "disk_bytes", 0, &disk))
		return -1;
	if (cpus > EOS_ROLE_CPUS_MAX)
		return field_bad(id, i, "cpus", "1..1048576", v[K_CPUS]);
	nd->cpus = (unsigned)cpus;
	nd->mem_bytes = mem;
	nd->disk_bytes = disk;
	PyObject *pub = v[K_PUBLIC];
	if (pub && pub != Py_None && !PyBool_Check(pub))
		return field_bad(id, i, "public", "true or false", pub);
	nd->public_addr = pub == Py_True;
	return 0;
}

static PyObject *role_names[EOS_ROLE_COUNT];   /* interned once, reused by every list */

/* The role named by str item (the names in a plan this binding returned are role_names
 * themselves: matched by identity first). */
static int role_of(PyObject *item)
{
	for (int r = 0; r < EOS_ROLE_COUNT; r++)
		if (item == role_names[r])
			return r;
	const char *name = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
	if (!name) {
		PyErr_Clear();
		return bad("a role must be a string, got %s", item);
	}
	struct eos_err e;
	int r = eos_role_parse(name, &e);
	if (r < 0)
		eos_py_raise(&e);
	return r;
}

/* Ask the cache for what get_node will read of the nodes ahead of node i: a node dict, its
 * table and its values lie in as many places of the heap (in the order the caller made them,
 * not the list's), and reading them one after the other waits for memory each time. In three
 * steps, each once the one before has arrived: the dict, then its table, then its values. */
static void prefetch_node(PyObject *const *items, Py_ssize_t n, Py_ssize_t i)
{
	if (i + 12 < n)
		__builtin_prefetch(items[i + 12]);
	if (i + 6 < n && PyDict_CheckExact(items[i + 6])) {
		const char *keys = (const char *)((PyDictObject *)items[i + 6])->ma_keys;
		for (int line = 0; line < 4; line++)   /* a table of six str keys: about 4 lines */
			__builtin_prefetch(keys + 64 * line);
	}
	if (i + 2 < n && PyDict_CheckExact(items[i + 2])) {
		PyObject *k, *v;
		for (Py_ssize_t pos = 0; PyDict_Next(items[i + 2], &pos, &k, &v);)
			__builtin_prefetch(v);
	}
}

static int get_roles(PyObject *list, unsigned *out)
{
	*out = 0;
	if (!PyList_Check(list) && !PyTuple_Check(list))
		return bad("current: roles must be a list of role names, got %s", list);
	/* A list or tuple: its items are read without a call, and role_of runs no Python code. */
	PyObject **items = PySequence_Fast_ITEMS(list);
	for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(list); i++) {
		int r = role_of(items[i]);
		if (r < 0)
			return -1;
		*out |= EOS_ROLE_BIT(r);
	}
	return 0;
}

static PyObject *role_list(unsigned roles)
{
	Py_ssize_t n = 0, k = 0;
	for (int r = 0; r < EOS_ROLE_COUNT; r++)
		n += (roles >> r) & 1;
	PyObject *l = PyList_New(n);
	for (int r = 0; l && r < EOS_ROLE_COUNT; r++)
		if (roles & EOS_ROLE_BIT(r))
			PyList_SET_ITEM(l, k++, Py_NewRef(role_names[r]));
	return l;
}

/* d[key] = value, dropping value (also on failure, and NULL is a failure). */
static int set_steal(PyObject *d, PyObject *key, PyObject *value)
{
	if (!value)
		return -1;
	int r = PyDict_SetItem(d, key, value);
	Py_DECREF(value);
	return r;
}

/* The reasons of compute and app are a few constant texts shared by most nodes: each is one
 * Python str, and the reasons dict of a node that holds only that role is a copy of one
 * template {role: text} (a copy clones the template's table in one go, where an insertion
 * into a new dict allocates its table, then hashes and probes). */
#define SHARED_MAX 8
struct shared {
	size_t off[SHARED_MAX];
	int role[SHARED_MAX];
	PyObject *str[SHARED_MAX], *why[SHARED_MAX];
	int n;
};

static int is_shared_role(int r)
{
	return r == EOS_ROLE_COMPUTE || r == EOS_ROLE_APP;
}

/* The slot of the text at off for role r, made on first use; -1 with an error set, or when
 * every slot is taken (the caller then builds the objects itself). */
static int shared_slot(struct shared *sh, const struct eos_roles_result *res, int r, size_t off)
{
	for (int k = 0; k < sh->n; k++)
		if (sh->off[k] == off && sh->role[k] == r)
			return k;
	if (sh->n == SHARED_MAX)
		return -1;
	PyObject *str = PyUnicode_FromString(eos_roles_text(res, off)), *why = PyDict_New();
	if (!str || !why || PyDict_SetItem(why, role_names[r], str) < 0) {
		Py_XDECREF(str);
		Py_XDECREF(why);
		return -1;
	}
	sh->off[sh->n] = off;
	sh->role[sh->n] = r;
	sh->str[sh->n] = str;
	sh->why[sh->n] = why;
	return sh->n++;
}

static void shared_free(struct shared *sh)
{
	for (int k = 0; k < sh->n; k++) {
		Py_DECREF(sh->str[k]);
		Py_DECREF(sh->why[k]);
	}
}

/* The result's dicts while they are filled; change: the template of a change,
 * {'added': None, 'removed': None, 'new': True} (copied, then its lists set). */
struct plan {
	PyObject *assign, *reasons, *changes, *change;
	struct shared sh;
};

/* The reasons dict of node o: {role: why}. */
static PyObject *reasons_of(struct plan *p, const struct eos_roles_result *res,
			    const struct eos_role_out *o)
{
	int only = -1;
	for (int r = 0; r < EOS_ROLE_COUNT; r++)
		if (o->roles == EOS_ROLE_BIT(r))
			only = r;
	if (only >= 0 && is_shared_role(only)) {
		int k = shared_slot(&p->sh, res, only, o->reason[only]);
		if (k >= 0)
			return PyDict_Copy(p->sh.why[k]);
		if (PyErr_Occurred())
			return NULL;
	}
	PyObject *why = PyDict_New();
	for (int r = 0; why && r < EOS_ROLE_COUNT; r++) {
		if (!(o->roles & EOS_ROLE_BIT(r)))
			continue;
		int k = is_shared_role(r) ? shared_slot(&p->sh, res, r, o->reason[r]) : -1;
		PyObject *t = k >= 0 ? Py_NewRef(p->sh.str[k])
			    : PyErr_Occurred() ? NULL : PyUnicode_FromString(eos_roles_text(res, o->reason[r]));
		if (!t || PyDict_SetItem(why, role_names[r], t) < 0)
			Py_CLEAR(why);
		Py_XDECREF(t);
	}
	return why;
}

/* changes[id] = {'added', 'removed', flag: True} (flag: 'new' or 'departed'). */
static int add_change(struct plan *p, PyObject *id, unsigned added, unsigned removed, int flag,
		      int value)
{
	int copy = flag == K_NEW && value;   /* a new node: the template has the keys in order */
	PyObject *ch = copy ? PyDict_Copy(p->change) : PyDict_New();
	int rc = !ch || set_steal(ch, keys[K_ADDED], role_list(added)) ||
		 set_steal(ch, keys[K_REMOVED], role_list(removed)) ||
		 (!copy && set_steal(ch, keys[flag], PyBool_FromLong(value))) ||
		 PyDict_SetItem(p->changes, id, ch) < 0;
	Py_XDECREF(ch);
	return rc ? -1 : 0;
}

/* One part of node i of the result (part: its roles, their reasons or its change), under id.
 * The parts are made one dict at a time, over all nodes: the table of that dict stays in
 * cache, where three tables of 100,000 entries filled side by side would not. */
enum part { PART_ROLES, PART_REASONS, PART_CHANGE, PARTS };

static int add_part(struct plan *p, const struct eos_roles_result *res, size_t i, PyObject *id,
		    enum part part)
{
	const struct eos_role_out *o = &res->nodes[i];
	if (part == PART_CHANGE)
		return o->roles == o->current ? 0
		       : add_change(p, id, o->roles & ~o->current, o->current & ~o->roles, K_NEW,
				    o->current == 0);
	PyObject *v = part == PART_ROLES ? role_list(o->roles) : reasons_of(p, res, o);
	int rc = !v || PyDict_SetItem(part == PART_ROLES ? p->assign : p->reasons, id, v) < 0;
	Py_XDECREF(v);
	return rc ? -1 : 0;
}

/* The departed nodes' changes, the warnings and the counts. */
static int add_rest(struct plan *p, const struct eos_roles_result *res, PyObject *warnings,
		    PyObject *counts)
{
	for (size_t i = 0; i < res->ndeparted; i++) {
		PyObject *id = PyUnicode_FromString(res->departed[i].id);
		int rc = !id || add_change(p, id, 0, res->departed[i].roles, K_DEPARTED, 1);
		Py_XDECREF(id);
		if (rc)
			return -1;
	}
	for (size_t i = 0; i < res->nwarnings; i++) {
		PyObject *s = PyUnicode_FromString(eos_roles_text(res, res->warnings[i]));
		int rc = !s || PyList_Append(warnings, s) < 0;
		Py_XDECREF(s);
		if (rc)
			return -1;
	}
	for (int r = 0; r < EOS_ROLE_COUNT; r++)
		if (eos_py_set_u64(counts, eos_role_name(r), res->counts[r]))
			return -1;
	return 0;
}

/* A dict for n entries, sized once (no table grown and rehashed on the way). */
static PyObject *dict_for(size_t n)
{
	return _PyDict_NewPresized((Py_ssize_t)n);
}

/* The plan's per-node parts into p (GC off: see build). */
static int fill(struct plan *p, const struct eos_roles_result *res, PyObject *const *ids,
		PyObject *warnings, PyObject *counts)
{
	size_t changed = res->ndeparted;
	for (size_t i = 0; i < res->n; i++)
		changed += res->nodes[i].roles != res->nodes[i].current;
	p->assign = dict_for(res->n);
	p->reasons = dict_for(res->n);
	p->changes = dict_for(changed);
	p->change = PyDict_New();
	int rc = !p->assign || !p->reasons || !p->changes || !p->change ||
		 PyDict_SetItem(p->change, keys[K_ADDED], Py_None) < 0 ||
		 PyDict_SetItem(p->change, keys[K_REMOVED], Py_None) < 0 ||
		 PyDict_SetItem(p->change, keys[K_NEW], Py_True) < 0;
	for (int part = 0; part < PARTS; part++)
		for (size_t i = 0; !rc && i < res->n; i++) {
			/* The ids are read in sorted order, not in the order they were made: ask for
			 * the one a few nodes ahead (its hash is read to insert it). */
			if (i + 8 < res->n)
				__builtin_prefetch(ids[res->nodes[i + 8].input_index]);
			rc = add_part(p, res, i, ids[res->nodes[i].input_index], (enum part)part);
		}
	return rc || add_rest(p, res, warnings, counts) ? -1 : 0;
}

/* The plan dict. ids: the id strings by input index (exact str). */
static PyObject *build(const struct eos_roles_result *res, PyObject *const *ids)
{
	struct plan p = {0};
	PyObject *out = PyDict_New(), *warnings = PyList_New(0), *counts = PyDict_New();
	int rc = !out || !warnings || !counts;
	/* The result holds no cycle: a collection while its containers (about five per node) are
	 * made would only walk every live object again, many times over for a large cluster. Every
	 * container is made with the collector off (one made after it is on again would start a
	 * collection of all the young ones). */
	int gc_was_on = PyGC_Disable();
	rc = rc || fill(&p, res, ids, warnings, counts);
	/* eos_py_set steals the value, also on failure. */
#define MOVE(key, var) do { PyObject *t_ = var; var = NULL; rc = rc || eos_py_set(out, key, t_); } while (0)
	if (!rc) {
		MOVE("assignment", p.assign);
		MOVE("reasons", p.reasons);
		MOVE("changes", p.changes);
		MOVE("warnings", warnings);
		MOVE("counts", counts);
	}
#undef MOVE
	rc = rc || eos_py_set_u64(out, "churn", res->churn) || eos_py_set_u64(out, "node_count", res->n);
	shared_free(&p.sh);
	Py_XDECREF(p.assign);
	Py_XDECREF(p.reasons);
	Py_XDECREF(p.changes);
	Py_XDECREF(p.change);
	Py_XDECREF(warnings);
	Py_XDECREF(counts);
	if (gc_was_on)
		PyGC_Enable();
	if (rc)
		Py_CLEAR(out);
	return out;
}

/* The strings' pointers, once t is complete: per node its id and zone, then the current
 * assignment's ids. */
static void texts_finish(const struct texts *t, struct eos_role_node *nodes, size_t n,
			 struct eos_role_current *cur, size_t ncur)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		nodes[i].id = texts_at(t, k++);
		if (nodes[i].zone == zone_kept)
			nodes[i].zone = texts_at(t, k++);
	}
	for (size_t j = 0; j < ncur; j++)
		cur[j].id = texts_at(t, k++);
}

/* The current assignment {id: [roles]} into cur_c (ids kept in t). */
static int get_current(PyObject *cur_o, struct eos_role_current *cur_c, struct texts *t)
{
	PyObject *key, *value;
	Py_ssize_t pos = 0, j = 0;
	while (PyDict_Next(cur_o, &pos, &key, &value)) {
		Py_ssize_t len;
		const char *idc = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &len) : NULL;
		if (!idc || memchr(idc, 0, (size_t)len)) {
			PyErr_Clear();
			return bad("current: a node id must be a string without NUL bytes, got %s", key);
		}
		if (texts_add(t, idc, len) || get_roles(value, &cur_c[j].roles))
			return -1;
		j++;
	}
	return 0;
}

static PyObject *py_roles_calculate(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"nodes", "current", NULL};
	PyObject *nodes_o, *cur_o = Py_None, *nodes = NULL, *result = NULL, **ids = NULL;
	struct eos_role_node *nodes_c = NULL;
	struct eos_role_current *cur_c = NULL;
	struct texts t = {EOS_BUF_INIT, NULL, 0};
	struct eos_roles_result res = {0};
	Py_ssize_t n, ncur = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O", kwlist, &nodes_o, &cur_o))
		return NULL;
	if (!PyList_Check(nodes_o) && !PyTuple_Check(nodes_o))
		return bad("nodes must be a list of dicts, got %s", nodes_o), NULL;
	nodes = PySequence_Fast(nodes_o, "nodes must be a list of dicts");
	if (!nodes)
		return NULL;
	n = PySequence_Fast_GET_SIZE(nodes);
	if (cur_o != Py_None && !PyDict_Check(cur_o)) {
		bad("current must be a dict {node id: [roles]}, got %s", cur_o);
		goto error;
	}
	if (cur_o != Py_None)
		ncur = PyDict_Size(cur_o);
	nodes_c = calloc(n ? n : 1, sizeof(*nodes_c));
	ids = calloc(n ? n : 1, sizeof(*ids));
	cur_c = calloc(ncur ? ncur : 1, sizeof(*cur_c));
	t.off = malloc((2 * n + ncur + 1) * sizeof(*t.off));
	/* ids and zones such as "node-000123", "zone-3": about 32 bytes a node */
	if (!nodes_c || !ids || !cur_c || !t.off || eos_buf_reserve(&t.b, 32 * (size_t)(n + ncur) + 1)) {
		PyErr_NoMemory();
		goto error;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		prefetch_node(PySequence_Fast_ITEMS(nodes), n, i);
		if (get_node(PySequence_Fast_GET_ITEM(nodes, i), i, &nodes_c[i], &t, &ids[i]))
			goto error;
	}
	if (ncur && get_current(cur_o, cur_c, &t))
		goto error;
	texts_finish(&t, nodes_c, (size_t)n, cur_c, (size_t)ncur);

	struct eos_err e;
	int rc;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	rc = eos_roles_calculate(nodes_c, (size_t)n, cur_c, (size_t)ncur, &res, &e);
	Py_END_ALLOW_THREADS
	if (rc) {
		eos_py_raise(&e);
		goto error;
	}
	result = build(&res, ids);
error:
	eos_roles_result_free(&res);
	eos_buf_free(&t.b);
	free(t.off);
	for (Py_ssize_t i = 0; ids && i < n; i++)
		Py_XDECREF(ids[i]);
	free(ids);
	free(nodes_c);
	free(cur_c);
	Py_XDECREF(nodes);
	return result;
}

static PyObject *py_roles_rules(PyObject *self, PyObject *arg)
{
	(void)self;
	Py_ssize_t n = PyLong_AsSsize_t(arg);
	if (n == -1 && PyErr_Occurred())
		return NULL;
	if (n < 0)
		return bad("node count must be >= 0, got %s", arg), NULL;
	PyObject *d = PyDict_New();
	for (int r = 0; d && r < EOS_ROLE_COUNT; r++) {
		const struct eos_role_min *m = eos_role_minimum(r);
		PyObject *rd = PyDict_New();
		if (!rd || eos_py_set_u64(rd, "target", eos_roles_target(r, (size_t)n)) ||
		    eos_py_set_u64(rd, "cpus", m->cpus) ||
		    eos_py_set_u64(rd, "mem_bytes", (unsigned long long)m->mem_gib << 30) ||
		    eos_py_set_u64(rd, "disk_bytes", (unsigned long long)m->disk_gib << 30)) {
			Py_XDECREF(rd);
			Py_CLEAR(d);
		} else if (eos_py_set(d, eos_role_name(r), rd)) {   /* steals rd */
			Py_CLEAR(d);
		}
	}
	return d;
}

static PyMethodDef methods[] = {
	{"roles_calculate", (PyCFunction)(void (*)(void))py_roles_calculate, METH_VARARGS | METH_KEYWORDS,
	 "roles_calculate(nodes, current=None) -> plan\n\n"
	 "nodes: [{'id', 'cpus', 'mem_bytes', 'disk_bytes' (unused), 'public' (bool), 'zone'}];\n"
	 "current: {node id: [role, ...]}. Returns {'assignment': {id: [roles]}, 'reasons':\n"
	 "{id: {role: why}}, 'changes': {id: {'added', 'removed', 'new'|'departed'}}, 'churn',\n"
	 "'warnings', 'counts', 'node_count'}. Raises OSError(EINVAL) quoting bad input."},
	{"roles_rules", py_roles_rules, METH_O,
	 "roles_rules(n) -> {role: {'target', 'cpus', 'mem_bytes', 'disk_bytes'}}: the minimums and how\n"
	 "many nodes hold each replicated role in an n-node cluster (0: compute/app take the rest)."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_roles(PyObject *m)
{
	for (int k = 0; k < K_COUNT; k++)
		if (!keys[k] && !(keys[k] = PyUnicode_InternFromString(key_names[k])))
			return -1;
	PyObject *roles = PyTuple_New(EOS_ROLE_COUNT);
	for (int r = 0; roles && r < EOS_ROLE_COUNT; r++) {
		if (!role_names[r] && !(role_names[r] = PyUnicode_InternFromString(eos_role_name(r))))
			Py_CLEAR(roles);
		else
			PyTuple_SET_ITEM(roles, r, Py_NewRef(role_names[r]));
	}
	/* eos.ROLES: every role name, in the library's order: the one list the glue uses. */
	int rc = roles ? PyModule_AddObjectRef(m, "ROLES", roles) : -1;
	Py_XDECREF(roles);
	return rc < 0 ? -1 : PyModule_AddFunctions(m, methods);
}
