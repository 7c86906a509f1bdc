/*
 * test_sandbox.c - hostile programs in the Python sandbox: each must be
 * contained (no network, no writes outside, bounded memory, processes,
 * time and output), end as a failure, and leave the next run unaffected.
 * Skips (77) with the reason when bubblewrap cannot run here.
 */
#include "eval/eval.h"
#include "test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

static unsigned test_uid(void) { return 200000u + (unsigned)getpid() % 100000u; }

static tlm_sandbox *sandbox_or_skip(char *why, size_t cap) {
    static tlm_sandbox *sb;
    static char reason[600];
    static int tried;
    if (!tried) {
        tried = 1;
        tlm_error err = {0};
        tlm_sandbox_config cfg = tlm_sandbox_default_config();
        /* A uid of our own, so counting leftover processes is not confused
         * by other sandboxes running at the same time (ctest -j). */
        cfg.drop_uid = test_uid();
        if (tlm_sandbox_create(&cfg, &sb, &err) != TLM_OK) {
            snprintf(reason, sizeof reason, "bubblewrap unusable here: %s", err.msg);
            sb = NULL;
        } else {
            fprintf(stderr, "  sandbox: %s\n", tlm_sandbox_describe(sb));
        }
    }
    snprintf(why, cap, "%s", reason);
    return sb;
}

#define NEED_SANDBOX(sb)                                                                           \
    char why_[640];                                                                                \
    tlm_sandbox *sb = sandbox_or_skip(why_, sizeof why_);                                          \
    if (!sb) SKIP(why_)

static tlm_sandbox_limits limits_with_wall(const tlm_sandbox *sb, double wall) {
    tlm_sandbox_limits l = *tlm_sandbox_get_limits(sb);
    l.wall_s = wall;
    return l;
}

/* Counts live processes owned by uid (the sandbox's unprivileged uid). */
static int count_uid_processes(unsigned uid) {
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/%s", e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && st.st_uid == uid) n++;
    }
    closedir(d);
    return n;
}

static void run_ok(test_state *ts_, const tlm_sandbox *sb, const char *prog,
                   const tlm_sandbox_limits *lim, tlm_sandbox_result *r) {
    tlm_error err = {0};
    ASSERT_OK(tlm_sandbox_run(sb, prog, NULL, 0, lim, r, &err));
    ASSERT(!r->setup_failed);
}

TEST(hello_and_exit_codes) {
    NEED_SANDBOX(sb);
    tlm_sandbox_result r;
    run_ok(ts_, sb, "print('hello')\n", NULL, &r);
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_STR_EQ(r.out, "hello\n");
    tlm_sandbox_result_clear(&r);
    run_ok(ts_, sb, "import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)\n", NULL, &r);
    ASSERT_EQ(r.exit_code, 3);
    ASSERT_STR_EQ(r.err, "bad\n");
    tlm_sandbox_result_clear(&r);
    run_ok(ts_, sb, "def f(:\n", NULL, &r);
    ASSERT_EQ(r.exit_code, 1);
    ASSERT_CONTAINS(r.err, "SyntaxError");
    tlm_sandbox_result_clear(&r);
}

TEST(socket_cannot_reach_host_or_internet) {
    NEED_SANDBOX(sb);
    /* A listener on the host's loopback: reachable from here, not from the
     * sandbox's own network namespace. */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_OK(bind(ls, (struct sockaddr *)&a, sizeof a));
    ASSERT_OK(listen(ls, 4));
    socklen_t alen = sizeof a;
    ASSERT_OK(getsockname(ls, (struct sockaddr *)&a, &alen));
    char prog[512];
    snprintf(prog, sizeof prog,
             "import socket\n"
             "for host in [('127.0.0.1', %d), ('1.1.1.1', 80)]:\n"
             "    s = socket.create_connection(host, timeout=2)\n"
             "    print('connected', host)\n",
             ntohs(a.sin_port));
    tlm_sandbox_result r;
    run_ok(ts_, sb, prog, NULL, &r);
    close(ls);
    ASSERT_NE(r.exit_code, 0);
    ASSERT(!strstr(r.out, "connected"));
    ASSERT_CONTAINS(r.err, "Error");
    tlm_sandbox_result_clear(&r);
}

static const char fork_bomb[] = "import os\n"
                                "while True:\n"
                                "    try:\n"
                                "        os.fork()\n"
                                "    except OSError:\n"
                                "        pass\n";

TEST(fork_bomb_is_contained) {
    NEED_SANDBOX(sb);
    tlm_sandbox_limits lim = limits_with_wall(sb, 3.0);
    tlm_sandbox_result r;
    uint64_t t0 = tlm_time_ns();
    run_ok(ts_, sb, fork_bomb, &lim, &r);
    double s = (double)(tlm_time_ns() - t0) / 1e9;
    ASSERT(r.timed_out);
    ASSERT_NE(r.exit_code, 0);
    ASSERT_MSG(s < 8.0, "fork bomb took %.1f s to stop", s);
    tlm_sandbox_result_clear(&r);
    char uid_desc[32];
    snprintf(uid_desc, sizeof uid_desc, "uid %u", test_uid());
    if (geteuid() == 0 && strstr(tlm_sandbox_describe(sb), uid_desc)) {
        int left = -1;
        for (int i = 0; i < 50 && left != 0; i++) {
            left = count_uid_processes(test_uid());
            if (left) usleep(100000);
        }
        ASSERT_EQ(left, 0);
    }
    run_ok(ts_, sb, "print('next')\n", NULL, &r);
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_STR_EQ(r.out, "next\n");
    tlm_sandbox_result_clear(&r);
}

TEST(ten_gigabytes_is_refused) {
    NEED_SANDBOX(sb);
    tlm_sandbox_result r;
    run_ok(ts_, sb, "x = bytearray(10 * 1024**3)\nprint('allocated', len(x))\n", NULL, &r);
    ASSERT_EQ(r.exit_code, 1);
    ASSERT_CONTAINS(r.err, "MemoryError");
    ASSERT(!strstr(r.out, "allocated"));
    tlm_sandbox_result_clear(&r);
}

TEST(writes_outside_stay_outside) {
    NEED_SANDBOX(sb);
    char host_file[400], prog[1400];
    snprintf(host_file, sizeof host_file, "%s/escape.txt", test_tmp_dir());
    snprintf(prog, sizeof prog,
             "import os\n"
             "ok = []\n"
             "for p in ['%s', '/etc/tlm-escape', '/usr/tlm-escape', '../tlm-escape',\n"
             "          '/tlm-escape', '/dev/tlm-escape', '/proc/tlm-escape']:\n"
             "    try:\n"
             "        with open(p, 'w') as f: f.write('x')\n"
             "        ok.append(p)\n"
             "    except OSError:\n"
             "        pass\n"
             "open('inside.txt', 'w').write('fine')\n"
             "assert open('inside.txt').read() == 'fine'\n"
             "print(ok)\n"
             "assert not ok, ok\n",
             host_file);
    tlm_sandbox_result r;
    run_ok(ts_, sb, prog, NULL, &r);
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_STR_EQ(r.out, "[]\n");
    struct stat st;
    ASSERT(stat(host_file, &st) != 0);
    ASSERT(stat("/etc/tlm-escape", &st) != 0);
    ASSERT(stat("/tlm-escape", &st) != 0);
    tlm_sandbox_result_clear(&r);
    /* A second run does not see the first one's files: every run is fresh. */
    run_ok(ts_, sb, "import os\nprint(sorted(os.listdir('.')))\n", NULL, &r);
    ASSERT_STR_EQ(r.out, "['prog.py']\n");
    tlm_sandbox_result_clear(&r);
}

TEST(infinite_loop_times_out) {
    NEED_SANDBOX(sb);
    tlm_sandbox_limits lim = limits_with_wall(sb, 1.5);
    tlm_sandbox_result r;
    run_ok(ts_, sb, "while True:\n    pass\n", &lim, &r);
    ASSERT(r.timed_out);
    ASSERT_EQ(r.exit_code, -1);
    ASSERT_EQ(r.term_signal, SIGKILL);
    ASSERT_MSG(r.wall_ms >= 1400 && r.wall_ms < 4500, "wall %.0f ms", r.wall_ms);
    tlm_sandbox_result_clear(&r);
    run_ok(ts_, sb, "import time\ntime.sleep(60)\n", &lim, &r);
    ASSERT(r.timed_out);
    ASSERT(r.wall_ms < 4500);
    tlm_sandbox_result_clear(&r);
}

TEST(gigabytes_of_output_are_capped) {
    NEED_SANDBOX(sb);
    tlm_sandbox_limits lim = limits_with_wall(sb, 20.0);
    const char *prog = "import sys\nb = 'x' * (1 << 20)\nfor i in range(4096):\n"
                       "    sys.stdout.write(b)\n    sys.stderr.write(b)\n";
    tlm_sandbox_result r;
    uint64_t t0 = tlm_time_ns();
    run_ok(ts_, sb, prog, &lim, &r);
    double s = (double)(tlm_time_ns() - t0) / 1e9;
    ASSERT(r.output_limited);
    ASSERT(!r.timed_out);
    ASSERT_NE(r.exit_code, 0);
    ASSERT_EQ(strlen(r.out), lim.output_keep);
    ASSERT_EQ(strlen(r.err), lim.output_keep);
    ASSERT(r.out_total + r.err_total > lim.output_kill);
    ASSERT(r.out_total + r.err_total < (size_t)4096 << 20);
    ASSERT_MSG(s < 20.0, "took %.1f s", s);
    tlm_sandbox_result_clear(&r);
}

TEST(orphans_do_not_hold_the_run) {
    NEED_SANDBOX(sb);
    tlm_sandbox_result r;
    const char *prog = "import os, time\nif os.fork() == 0:\n    time.sleep(100)\n"
                       "    os._exit(0)\nprint('parent done')\n";
    run_ok(ts_, sb, prog, NULL, &r);
    ASSERT_EQ(r.exit_code, 0);
    ASSERT(!r.timed_out);
    ASSERT_MSG(r.wall_ms < 3000, "orphan kept the run alive %.0f ms", r.wall_ms);
    ASSERT_STR_EQ(r.out, "parent done\n");
    tlm_sandbox_result_clear(&r);
}

TEST(big_files_and_stdin) {
    NEED_SANDBOX(sb);
    tlm_sandbox_result r;
    run_ok(ts_, sb, "open('big', 'wb').write(b'x' * (100 << 20))\n", NULL, &r);
    ASSERT_EQ(r.exit_code, 1);
    ASSERT_CONTAINS(r.err, "Error");
    tlm_sandbox_result_clear(&r);
    run_ok(ts_, sb, "import sys\nprint(repr(sys.stdin.read()))\ninput()\n", NULL, &r);
    ASSERT_STR_EQ(r.out, "''\n");
    ASSERT_CONTAINS(r.err, "EOFError");
    tlm_sandbox_result_clear(&r);
}

TEST(fixture_files_and_bad_names) {
    NEED_SANDBOX(sb);
    const char csv[] = "a,b\n1,2\n3,4\n";
    tlm_sandbox_file files[] = {{"data.csv", csv, sizeof csv - 1}, {"empty.txt", "", 0}};
    tlm_sandbox_result r;
    tlm_error err = {0};
    ASSERT_OK(
        tlm_sandbox_run(sb,
                        "import csv, os\nrows = list(csv.DictReader(open('data.csv')))\n"
                        "print(sum(int(r['b']) for r in rows), os.path.getsize('empty.txt'))\n",
                        files, 2, NULL, &r, &err));
    ASSERT_STR_EQ(r.out, "6 0\n");
    tlm_sandbox_result_clear(&r);
    tlm_sandbox_file bad[] = {{"../x", "y", 1}};
    ASSERT_EQ(tlm_sandbox_run(sb, "pass\n", bad, 1, NULL, &r, &err), TLM_ERR_INVALID_ARG);
    tlm_sandbox_file clash[] = {{"prog.py", "y", 1}};
    ASSERT_EQ(tlm_sandbox_run(sb, "pass\n", clash, 1, NULL, &r, &err), TLM_ERR_INVALID_ARG);
}

/* A caller whose open-file limit is low (1024 is a common default; here
 * less) must still be able to pass fixtures to the sandbox. */
TEST(low_open_file_limit_in_caller) {
    NEED_SANDBOX(sb);
    struct rlimit old, low;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
    low = old;
    low.rlim_cur = 40;
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));
    tlm_sandbox_file files[] = {{"a.txt", "A", 1}, {"b.txt", "B", 1}};
    tlm_sandbox_result r;
    tlm_error err = {0};
    tlm_status st = tlm_sandbox_run(sb, "print(open('a.txt').read() + open('b.txt').read())\n",
                                    files, 2, NULL, &r, &err);
    setrlimit(RLIMIT_NOFILE, &old);
    ASSERT_OK(st);
    ASSERT_STR_EQ(r.out, "AB\n");
    tlm_sandbox_result_clear(&r);
}

typedef struct par_job {
    const tlm_sandbox *sb;
    const char *prog;
    double wall;
    int exit_code;
    bool timed_out;
    char out[64];
} par_job;

static void *par_run(void *p) {
    par_job *j = p;
    tlm_sandbox_limits lim = *tlm_sandbox_get_limits(j->sb);
    lim.wall_s = j->wall;
    tlm_sandbox_result r;
    if (tlm_sandbox_run(j->sb, j->prog, NULL, 0, &lim, &r, NULL) != TLM_OK) {
        j->exit_code = -100;
        return NULL;
    }
    j->exit_code = r.exit_code;
    j->timed_out = r.timed_out;
    snprintf(j->out, sizeof j->out, "%s", r.out);
    tlm_sandbox_result_clear(&r);
    return NULL;
}

/* Each sandbox has its own process budget: a fork bomb running next to
 * ordinary programs must not starve them. */
TEST(parallel_runs_are_independent) {
    NEED_SANDBOX(sb);
    par_job jobs[4] = {{sb, fork_bomb, 4.0, 0, false, ""}};
    for (int i = 1; i < 4; i++)
        jobs[i] = (par_job){
            sb, "import subprocess\nprint(subprocess.run(['true']).returncode)\n", 10.0, 0, false,
            ""};
    pthread_t th[4];
    pthread_create(&th[0], NULL, par_run, &jobs[0]);
    usleep(500000);
    for (int i = 1; i < 4; i++) pthread_create(&th[i], NULL, par_run, &jobs[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    ASSERT(jobs[0].timed_out);
    for (int i = 1; i < 4; i++) {
        ASSERT_EQ(jobs[i].exit_code, 0);
        ASSERT_STR_EQ(jobs[i].out, "0\n");
    }
}

TEST(refuses_without_bwrap_unless_unsafe) {
    tlm_sandbox_config cfg = tlm_sandbox_default_config();
    cfg.bwrap_path = "/nonexistent/bwrap";
    tlm_sandbox *sb = NULL;
    tlm_error err = {0};
    ASSERT_EQ(tlm_sandbox_create(&cfg, &sb, &err), TLM_ERR_UNSUPPORTED);
    ASSERT(sb == NULL);
    ASSERT_CONTAINS(err.msg, "unsafe");
    cfg.mode = TLM_SANDBOX_AUTO;
    ASSERT_EQ(tlm_sandbox_create(&cfg, &sb, &err), TLM_ERR_UNSUPPORTED);
    cfg.mode = TLM_SANDBOX_UNSAFE;
    ASSERT_EQ(tlm_sandbox_create(&cfg, &sb, &err), TLM_ERR_INVALID_ARG);
    cfg.mode = TLM_SANDBOX_AUTO;
    cfg.allow_unsafe = true;
    ASSERT_OK(tlm_sandbox_create(&cfg, &sb, &err));
    ASSERT(!tlm_sandbox_is_isolated(sb));
    ASSERT_CONTAINS(tlm_sandbox_describe(sb), "unsafe");
    /* Even unsafe runs keep the time limit and the process-group kill. */
    tlm_sandbox_limits lim = limits_with_wall(sb, 1.0);
    tlm_sandbox_result r;
    ASSERT_OK(tlm_sandbox_run(sb, "import os\nprint(os.path.basename(os.getcwd())[:8])\n", NULL, 0,
                              NULL, &r, &err));
    ASSERT_STR_EQ(r.out, "tlm-eval\n");
    tlm_sandbox_result_clear(&r);
    ASSERT_OK(tlm_sandbox_run(sb, "while True: pass\n", NULL, 0, &lim, &r, &err));
    ASSERT(r.timed_out);
    tlm_sandbox_result_clear(&r);
    tlm_sandbox_free(sb);
}

/* The same hostile programs as model answers, through the exec grader:
 * every one is scored as a failure of the right kind, then a correct
 * answer still passes. */
TEST(hostile_answers_score_as_failures) {
    NEED_SANDBOX(sb);
    tlm_eval_task t = {.id = "hostile",
                       .kind = "function",
                       .language = "en",
                       .prompt = "f",
                       .grader = TLM_EVAL_GRADER_EXEC,
                       .entry_point = "f",
                       .test = "assert f() == 1\n",
                       .timeout_s = 2.0};
    static const struct {
        const char *code;
        tlm_eval_verdict want;
    } cases[] = {
        {"import socket\ndef f():\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
         "    return 1\n",
         TLM_EVAL_FAIL_RUNTIME},
        {"import os\ndef f():\n    while True:\n        try:\n            os.fork()\n"
         "        except OSError:\n            pass\n",
         TLM_EVAL_FAIL_TIMEOUT},
        {"def f():\n    x = bytearray(10 * 1024**3)\n    return 1\n", TLM_EVAL_FAIL_RUNTIME},
        {"def f():\n    open('/etc/tlm-hostile', 'w').write('x')\n    return 1\n",
         TLM_EVAL_FAIL_RUNTIME},
        {"def f():\n    while True:\n        pass\n", TLM_EVAL_FAIL_TIMEOUT},
        {"import sys\ndef f():\n    while True:\n        sys.stdout.write('x' * 65536)\n",
         TLM_EVAL_FAIL_RUNTIME},
        {"import sys\ndef f():\n    return 1\nsys.exit(0)\n", TLM_EVAL_FAIL_RUNTIME},
        {"def f():\n    return 2\n", TLM_EVAL_FAIL_WRONG_ANSWER},
        {"def f(:\n    return 1\n", TLM_EVAL_FAIL_SYNTAX},
        {"def f():\n    return 1\n", TLM_EVAL_PASS},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(cases); i++) {
        char answer[600];
        snprintf(answer, sizeof answer, "```python\n%s```", cases[i].code);
        tlm_eval_answer a;
        tlm_eval_answer_init(&a);
        a.text = answer;
        tlm_eval_grade g;
        tlm_error err = {0};
        ASSERT_OK(tlm_eval_grade_answer(sb, &t, &a, &g, &err));
        ASSERT_MSG(g.verdict == cases[i].want, "case %zu: %s (%s), want %s", i,
                   tlm_eval_verdict_name(g.verdict), g.detail ? g.detail : "",
                   tlm_eval_verdict_name(cases[i].want));
        tlm_eval_grade_clear(&g);
    }
    struct stat st;
    ASSERT(stat("/etc/tlm-hostile", &st) != 0);
}

TEST_MAIN(TEST_ENTRY(hello_and_exit_codes), TEST_ENTRY(socket_cannot_reach_host_or_internet),
          TEST_ENTRY(fork_bomb_is_contained), TEST_ENTRY(ten_gigabytes_is_refused),
          TEST_ENTRY(writes_outside_stay_outside), TEST_ENTRY(infinite_loop_times_out),
          TEST_ENTRY(gigabytes_of_output_are_capped), TEST_ENTRY(orphans_do_not_hold_the_run),
          TEST_ENTRY(big_files_and_stdin), TEST_ENTRY(fixture_files_and_bad_names),
          TEST_ENTRY(low_open_file_limit_in_caller), TEST_ENTRY(parallel_runs_are_independent),
          TEST_ENTRY(hostile_answers_score_as_failures),
          TEST_ENTRY(refuses_without_bwrap_unless_unsafe))
