"""test_manpages.py - the man pages: one per program, each renders without
a warning, and each names every option its program accepts.  No cluster.

The options a program accepts are read from its C sources, not from its
--help (from which help2man makes the page): the getopt_long() option
tables and optstrings, and the options compared by hand (strcmp(arg,
"--label")), in the program's sources as its local.mk lists them and the
.c files of the cli/ headers they include (sbatch_opt.c for sbatch,
salloc and srun).  slurmish-local's come from its argparse parser.  So an
option added to the code but not to --help fails here.

slurmish.yaml(5) is checked against lib/conf/conf.c: every key of every
key table has an entry (".B key") in the page's section for its mapping,
stating the default conf.c applies; etc/slurmish.yaml names every key and
states the same defaults.
"""

import glob
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (BUILDDIR only: no cluster, no root)

BUILDDIR = harness.BUILDDIR
SRCDIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MANDIR = os.path.join(BUILDDIR, "doc", "man")
CONF_PAGE = os.path.join(SRCDIR, "doc", "man", "slurmish.yaml.5")
LOCAL_MKS = ("cli/local.mk", "slurmish-ctld/local.mk", "slurmish-d/local.mk")


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def canon(path):
    """Automake's canonical name of a program path: cli/sbatch -> cli_sbatch."""
    return re.sub(r"[^A-Za-z0-9_@]", "_", path)


def programs():
    """{name: path in the tree} of the installed programs, from the local.mk files."""
    progs = {}
    for mk in LOCAL_MKS:
        text = read(os.path.join(SRCDIR, mk)).replace("\\\n", " ")
        for m in re.finditer(r"^(?:bin|sbin)_PROGRAMS\s*\+?=(.*)$", text, re.M):
            for p in m.group(1).split():
                progs[os.path.basename(p)] = p
    return progs


def program_sources(path):
    """The C files a program is built from: its _SOURCES, and the .c file of
    every local header they include (one level)."""
    key = canon(path) + "_SOURCES"
    for mk in LOCAL_MKS:
        text = read(os.path.join(SRCDIR, mk)).replace("\\\n", " ")
        m = re.search(r"^%s\s*=(.*)$" % re.escape(key), text, re.M)
        if m:
            break
    else:
        raise AssertionError("no %s in %s" % (key, ", ".join(LOCAL_MKS)))
    files = [f for f in m.group(1).split() if f.endswith(".c")]
    out = list(files)
    for f in files:
        for inc in re.findall(r'^#include\s+"([^"/]+)\.h"', read(os.path.join(SRCDIR, f)), re.M):
            c = os.path.join(os.path.dirname(f), inc + ".c")
            if os.path.exists(os.path.join(SRCDIR, c)) and c not in out:
                out.append(c)
    return out


def strip_comments(src):
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    return re.sub(r"//[^\n]*", " ", src)


def options_in_c(src):
    """Every option a C source accepts: getopt_long tables and optstrings,
    and options compared by hand.  Returns a set such as {"-l", "--label"}."""
    src = strip_comments(src)
    opts = set()
    for table in re.findall(r"struct\s+option\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\n?\s*\};", src, re.S):
        for name in re.findall(r'\{\s*"([^"]+)"', table):
            opts.add("--" + name)
    for optstring in re.findall(r'getopt(?:_long)?\s*\([^,]+,[^,]+,\s*"([^"]*)"', src):
        for ch in optstring.lstrip("+-:"):
            if ch != ":":
                opts.add("-" + ch)
    for lit in re.findall(r'\bstrn?(?:case)?cmp\s*\(\s*[^,()]+\s*,\s*"(-{1,2}[A-Za-z][\w-]*)=?"',
                          src):
        opts.add(lit)
    return opts


def options_of(path):
    opts = set()
    for f in program_sources(path):
        opts |= options_in_c(read(os.path.join(SRCDIR, f)))
    return opts


def argparse_options(parser):
    """Every option string of an argparse parser and its subcommands."""
    import argparse
    opts = set()
    for action in parser._actions:
        opts.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                opts |= argparse_options(sub)
    return opts


def render(page):
    """The page as plain text, one very long line per paragraph (no
    hyphenation), so an option name is never broken."""
    p = subprocess.run(["groff", "-man", "-Tascii", "-rLL=2000n", "-rHY=0", "-P-c", "-P-b",
                        "-P-u", "-P-o", page], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode:
        raise AssertionError("groff failed on %s: %s" % (page, p.stderr))
    return p.stdout


def missing_options(opts, text):
    return sorted(o for o in opts
                  if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text))


def page_of(name):
    for sect in ("1", "8"):
        path = os.path.join(MANDIR, "%s.%s" % (name, sect))
        if os.path.exists(path):
            return path
    return None


def all_pages():
    return sorted(glob.glob(os.path.join(MANDIR, "*.[18]"))) + [CONF_PAGE]


def conf_key_tables():
    """{table prefix: [key, ...]} from lib/conf/conf.c's key tables."""
    src = strip_comments(read(os.path.join(SRCDIR, "lib", "conf", "conf.c")))
    tables = {}
    for name, body in re.findall(r"static\s+const\s+struct\s+key\s+(\w+)_keys\s*\[\s*\]\s*=\s*"
                                 r"\{(.*?)\n\};", src, re.S):
        tables[name] = re.findall(r'\{\s*"(\w+)"', body)
    return tables


def conf_defaults():
    """{(table, key): default} of the settings conf.c gives a default
    (numeric_defaults() and string_defaults()), LOCALSTATEDIR as /var."""
    src = strip_comments(read(os.path.join(SRCDIR, "lib", "conf", "conf.c")))
    field_key = {}
    for name, body in re.findall(r"static\s+const\s+struct\s+key\s+(\w+)_keys\s*\[\s*\]\s*=\s*"
                                 r"\{(.*?)\n\};", src, re.S):
        for key, field in re.findall(r'\{\s*"(\w+)"\s*,\s*\w+\s*,\s*C\((\w+)\)', body):
            field_key[field] = (name, key)
    defaults = {}
    num = re.search(r"numeric_defaults\([^)]*\)\s*\{(.*?)\n\}", src, re.S).group(1)
    for field, value in re.findall(r"c->(\w+)\s*=\s*(\w+);", num):
        defaults[field_key[field]] = value
    strs = re.search(r"string_defaults\([^)]*\)\s*\{(.*?)\n\}", src, re.S).group(1)
    for field, value in re.findall(r'DEF_STR\((\w+),\s*((?:LOCALSTATEDIR\s*)?"[^"]*")\)', strs):
        value = re.sub(r'LOCALSTATEDIR\s*"', '"/var', value).strip('"')
        defaults[field_key[field]] = value
    return defaults


def page_entry(section_body, key):
    """The roff text of a key's .TP entry in a section, or None."""
    m = re.search(r"(?ms)^\.TP\n\.B %s\n(.*?)(?=^\.TP\n|\Z)" % re.escape(key), section_body)
    return m.group(1) if m else None


# conf.c key table -> the page's section (.SH) describing its mapping
CONF_SECTIONS = {"top": "TOP LEVEL", "controller": "CONTROLLER", "munge": "MUNGE",
                 "node_daemon": "NODE_DAEMON", "power": "POWER", "group": "NODE_GROUPS",
                 "part": "PARTITIONS", "account": "ACCOUNTS"}


def page_sections(roff):
    """{".SH title": body} of a roff page."""
    parts = re.split(r'^\.SH\s+"?([^"\n]*)"?\s*$', roff, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


class ShippedConfigTest(unittest.TestCase):
    """etc/slurmish.yaml, the commented default config, agrees with conf.c
    (and so with slurmish.yaml(5)): it names every key, and states every
    default, in a "Default: X" comment or by setting the key to it."""

    def setUp(self):
        self.text = read(os.path.join(SRCDIR, "etc", "slurmish.yaml"))

    def section(self, table):
        if table == "top":
            return self.text
        m = re.search(r"(?ms)^%s:\s*\n(.*?)(?=^\w|\Z)" % re.escape(table), self.text)
        self.assertIsNotNone(m, "etc/slurmish.yaml has no %s section" % table)
        return m.group(1)

    def test_every_key_is_named(self):
        for table, keys in conf_key_tables().items():
            for key in keys:
                self.assertRegex(self.text, r"\b%s\b" % re.escape(key),
                                 "etc/slurmish.yaml does not mention %s (%s)" % (key, table))

    def test_defaults_agree(self):
        for (table, key), value in sorted(conf_defaults().items()):
            m = re.search(r"(?m)((?:^ *#[^\n]*\n)*)^ *#? *%s: *(\S+)" % re.escape(key),
                          self.section(table))
            self.assertIsNotNone(m, "etc/slurmish.yaml: no %s in %s" % (key, table))
            self.assertTrue("Default: " + value in m.group(1) or m.group(2) == value,
                            "etc/slurmish.yaml: %s.%s: the default is %s" % (table, key, value))


class ExtractorTest(unittest.TestCase):
    """The option extraction itself, so a blind extractor cannot pass."""

    def test_getopt_table_and_optstring(self):
        src = '''
        static const struct option opts[] = {
            {"partition", required_argument, NULL, 'p'}, {"json", no_argument, NULL, 1},
            {NULL, 0, NULL, 0},
        };
        /* {"commented", ...} is not an option */
        while ((c = getopt_long(argc, argv, "+p:vV", opts, NULL)) != -1)
        '''
        self.assertEqual(options_in_c(src), {"--partition", "--json", "-p", "-v", "-V"})

    def test_hand_compared(self):
        src = '''if (!strcmp(a, "--pty") || !strcmp(argv[i], "-l")) x();
                 else if (!strncmp(a, "--jobid=", 8)) y();
                 else if (!strcmp(a, "--")) z();
                 else if (!strncasecmp(a, "start=", 6)) w();'''
        self.assertEqual(options_in_c(src), {"--pty", "-l", "--jobid"})

    def test_missing_options(self):
        text = "  -p, --partition=NAME  run there\n  --no-requeue  do not\n"
        self.assertEqual(missing_options({"-p", "--partition", "--requeue", "-P", "--no"},
                                         text), ["--no", "--requeue", "-P"])


class ManPageTest(unittest.TestCase):
    def setUp(self):
        if not shutil.which("groff"):
            self.skipTest("groff is not installed (Debian: groff-base)")

    def test_every_program_has_a_page(self):
        progs = dict(programs())
        self.assertIn("sbatch", progs)
        self.assertIn("slurmish-ctld", progs)
        progs["slurmish-local"] = "scripts/slurmish-local"
        for name in progs:
            self.assertIsNotNone(page_of(name), "no man page for %s in %s" % (name, MANDIR))

    def test_pages_render_without_warnings(self):
        pages = all_pages()
        self.assertGreaterEqual(len(pages), 14)
        for page in pages:
            p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)
            if shutil.which("man"):
                p = subprocess.run(["man", "-l", page], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                            PAGER="cat", LC_ALL="C.UTF-8"))
                self.assertEqual((p.returncode, p.stderr), (0, ""), page)
                self.assertIn("NAME", p.stdout, page)

    def test_every_option_is_documented(self):
        checked = 0
        for name, path in sorted(programs().items()):
            opts = options_of(path)
            self.assertIn("--help", opts, "%s: no --help found in its sources" % name)
            self.assertIn("--version", opts, "%s: no --version found in its sources" % name)
            page = page_of(name)
            self.assertIsNotNone(page, name)
            missing = missing_options(opts, render(page))
            self.assertEqual(missing, [], "%s accepts options its man page %s does not name "
                             "(document them in its --help)" % (name, page))
            checked += len(opts)
        self.assertGreater(checked, 150)

    def test_slurmish_local_options_are_documented(self):
        path = os.path.join(BUILDDIR, "scripts", "slurmish-local")
        loader = importlib.machinery.SourceFileLoader("slurmish_local", path)
        spec = importlib.util.spec_from_loader("slurmish_local", loader)
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
        opts = argparse_options(mod.build_parser())
        self.assertTrue({"--dir", "--nodes", "--signal", "--version"} <= opts, opts)
        self.assertEqual(missing_options(opts, render(page_of("slurmish-local"))), [])

    def test_help_and_version(self):
        for name, path in sorted(programs().items()) + [("slurmish-local",
                                                         "scripts/slurmish-local")]:
            prog = os.path.join(BUILDDIR, path)
            env = dict(os.environ, SLURMISH_CONF="/nonexistent/slurmish.yaml")
            p = subprocess.run([prog, "--version"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, timeout=20)
            self.assertEqual(p.returncode, 0, "%s --version: %s" % (name, p.stderr))
            self.assertRegex(p.stdout, r"^slurmish \d+\.\d+", name)
            p = subprocess.run([prog, "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, timeout=20)
            self.assertEqual(p.returncode, 0, "%s --help: %s" % (name, p.stderr))
            self.assertRegex(p.stdout, r"(?i)usage", name)

    def test_every_config_key_is_documented(self):
        tables = conf_key_tables()
        self.assertEqual(set(tables), set(CONF_SECTIONS),
                         "conf.c's key tables changed: map each to its section of "
                         "slurmish.yaml.5 in CONF_SECTIONS")
        sections = page_sections(read(CONF_PAGE))
        nkeys = 0
        for table, keys in tables.items():
            self.assertTrue(keys, table)
            body = sections.get(CONF_SECTIONS[table])
            self.assertIsNotNone(body, "slurmish.yaml.5 has no section %s"
                                 % CONF_SECTIONS[table])
            for key in keys:
                nkeys += 1
                self.assertRegex(body, r"(?m)^\.TP\n\.B %s\n" % re.escape(key),
                                 "slurmish.yaml.5, section %s: no entry for %s"
                                 % (CONF_SECTIONS[table], key))
        self.assertGreater(nkeys, 60)

    def test_config_defaults_are_documented(self):
        """The page states the default conf.c applies, for every setting that
        has one in numeric_defaults() / string_defaults()."""
        defaults = conf_defaults()
        self.assertGreater(len(defaults), 20)
        self.assertIn(("controller", "port"), defaults)
        sections = page_sections(read(CONF_PAGE))
        for (table, key), value in sorted(defaults.items()):
            entry = page_entry(sections[CONF_SECTIONS[table]], key)
            self.assertIsNotNone(entry, key)
            text = re.sub(r"\\-", "-", entry)
            self.assertRegex(text, r"default\s*(?:\n\.BR?\s+)?%s\b" % re.escape(value),
                             "slurmish.yaml.5: %s.%s: default %s not stated" % (table, key, value))


if __name__ == "__main__":
    unittest.main(verbosity=2)
