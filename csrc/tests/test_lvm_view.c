/* lvm_view: which lvm configurations eos applies in-process, and lvm's filter rules (first
 * matching pattern decides, no match passes, global_filter and filter both apply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "eos/drivers/lvm/lvm_view.h"

static char dir[64];

static int load_conf(const char *text, struct eos_lvm_view *v)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/lvm.conf", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return eos_lvm_view_load(v);
}

/* Which of three devices (minors no /dev node has, so no other names) the view keeps. */
static void kept(const struct eos_lvm_view *v, char out[4])
{
	struct eos_lvm_dev devs[3] = {{"/dev/loop1", 7, 900001, 1}, {"/dev/loop2", 7, 900002, 1},
				      {"/dev/sdz", 8, 900003, 1}};
	size_t n = 3;
	memset(out, 0, 4);
	if (eos_lvm_view_apply(v, devs, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		out[i] = devs[i].path[strlen(devs[i].path) - 1];
}

static void test_filters(void)
{
	struct eos_lvm_view v;
	char k[4];
	CHECK(eos_lvm_view_load(&v) == 1 && v.n == 0);   /* no lvm.conf: lvm's defaults */
	CHECK(load_conf("devices {\n filter = [ \"a|^/dev/loop1$|\", \"r|.*|\" ]\n use_devicesfile = 0\n}\n"
			"backup { backup = 0 archive = 0 }\nglobal { activation = 0 }\n", &v) == 1 && v.n == 2);
	kept(&v, k);
	CHECK(strcmp(k, "1") == 0);
	eos_lvm_view_free(&v);
	/* No pattern matches sdz: it passes; the first match decides for loop2. */
	CHECK(load_conf("devices { global_filter = [ \"a(loop1)\", \"r|loop|\" ] }\n", &v) == 1 && v.n == 2);
	kept(&v, k);
	CHECK(strcmp(k, "1z") == 0);
	eos_lvm_view_free(&v);
	/* Both lists apply. */
	CHECK(load_conf("devices { global_filter = [ \"r|sd|\" ] filter = [ \"r|loop1|\" ] }\n", &v) == 1);
	kept(&v, k);
	CHECK(strcmp(k, "2") == 0);
	eos_lvm_view_free(&v);
}

static void test_left_to_lvm(void)
{
	static const char *const confs[] = {
		"devices { scan_lvs = 1 }\n",
		"global { system_id_source = \"uname\" }\n",
		"devices { filter = [ \"a|loop{1,2}|\" ] }\n",       /* an interval: lvm's engine has none */
		"devices { filter = [ \"a|\\\\d|\" ] }\n",           /* a backslash class */
		"devices { filter = [ \"x|loop|\" ] }\n",            /* neither a nor r */
		"devices { filter = [ \"a|loop\" ] }\n",             /* unterminated */
		"devices { filter = \"a|loop|\" }\n",                /* not a list */
		"tags { hosttags = 1 }\n",
		"devices { filter = [ \"a|(|\" ] }\n",               /* does not compile */
	};
	struct eos_lvm_view v;
	for (size_t i = 0; i < sizeof(confs) / sizeof(confs[0]); i++)
		CHECK(load_conf(confs[i], &v) == 0 && v.n == 0);
	/* A devices file counts unless use_devicesfile = 0. */
	char path[128];
	snprintf(path, sizeof(path), "%s/devices", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/devices/system.devices", dir);
	fclose(fopen(path, "w"));
	CHECK(load_conf("backup { backup = 0 }\n", &v) == 0);
	CHECK(load_conf("devices { use_devicesfile = 0 }\n", &v) == 1);
	eos_lvm_view_free(&v);
	unlink(path);
	snprintf(path, sizeof(path), "%s/devices", dir);
	rmdir(path);
}

/* The kept view: the same while lvm.conf is the same file, read again when it changes, and a
 * devices file that appears counts at once. */
static void test_kept(void)
{
	struct eos_lvm_view v;
	CHECK(load_conf("devices { filter = [ \"a|loop1|\", \"r|.*|\" ] }\n", &v) == 1);
	eos_lvm_view_free(&v);
	const struct eos_lvm_view *a = eos_lvm_view_get(), *b = eos_lvm_view_get();
	CHECK(a && a->n == 2 && b == a);
	eos_lvm_view_put(b);
	CHECK(load_conf("devices { filter = [ \"a|/loop2|\", \"r|.*|\" ] }\n", &v) == 1);
	eos_lvm_view_free(&v);
	b = eos_lvm_view_get();
	char k[4];
	CHECK(b && b != a && b->n == 2);
	kept(a, k);  /* the old view stays valid while it is held */
	CHECK(strcmp(k, "1") == 0);
	kept(b, k);
	CHECK(strcmp(k, "2") == 0);
	eos_lvm_view_put(a);
	eos_lvm_view_put(b);
	char path[128];
	snprintf(path, sizeof(path), "%s/devices", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/devices/system.devices", dir);
	fclose(fopen(path, "w"));
	CHECK(eos_lvm_view_get() == NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/devices", dir);
	rmdir(path);
	CHECK(load_conf("tags { hosttags = 1 }\n", &v) == 0);
	CHECK(eos_lvm_view_get() == NULL);
}

void test_lvm_view(void)
{
	const char *old = getenv("LVM_SYSTEM_DIR");
	char *saved = old ? strdup(old) : NULL;
	snprintf(dir, sizeof(dir), "/tmp/eos-lvm-view-XXXXXX");
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		free(saved);
		return;
	}
	setenv("LVM_SYSTEM_DIR", dir, 1);
	test_filters();
	test_left_to_lvm();
	test_kept();
	char path[128];
	snprintf(path, sizeof(path), "%s/lvm.conf", dir);
	unlink(path);
	rmdir(dir);
	if (saved)
		setenv("LVM_SYSTEM_DIR", saved, 1);
	else
		unsetenv("LVM_SYSTEM_DIR");
	free(saved);
}
