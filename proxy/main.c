/*
 * sluice: a SOCKS5 and HTTP forward proxy.  Command line, configuration, start and
 * stop.  Exit status: 0 after a clean stop (or a good -t), 1 when the
 * configuration or the start fails, 2 for bad usage.
 */
#include <sys/auxv.h>

#include <errno.h>
#include <getopt.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ares.h>
#include <event2/event.h>

#include "log.h"
#include "notify.h"
#include "pkgcheck.h"
#include "policy.h"
#include "privs.h"
#include "server.h"
#include "tcpcc.h"
#include "sio.h"
#include "../auth/auth.h"
#include "../auth/crypt_pool.h"
#include "../conf/conf.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION	"0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sluice [-t] [-d] [-c FILE] [-l SCHEME://ADDR:PORT]... "
	    "[-u USER:PASS]...\n"
	    "\n"
	    "A SOCKS5 and HTTP forward proxy.  With no arguments: SOCKS5 on "
	    "127.0.0.1:1080\nand HTTP on 127.0.0.1:3128, no auth, logs on "
	    "stderr, in the foreground.\n"
	    "\n"
	    "  -c FILE        read the configuration file (libconfig syntax)\n"
	    "  -t             check the configuration, print it and exit "
	    "(0 good, 1 bad)\n"
	    "  -l URI         listen on URI instead of the configured "
	    "listeners (repeatable):\n"
	    "                 socks5://127.0.0.1:1080, http://[::1]:3128, "
	    "auto://0.0.0.0:8080\n"
	    "                 (SOCKS5, SOCKS4 and HTTP on one port), "
	    "socks4://...\n"
	    "  -u USER:PASS   add a user and require authentication "
	    "(repeatable)\n"
	    "  -d             debug logging (state transitions)\n"
	    "  -h, --help     this help\n"
	    "  -V, --version  print the version\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop accepting and let sessions finish "
	    "for timeouts.drain\nseconds (a second signal closes them at "
	    "once); SIGHUP reloads the configuration;\nSIGUSR1 reopens the "
	    "access log.\n");
}

/*
 * -V: the version and the libraries', and for the static build the Debian
 * packages they were linked from (what pkgcheck compares).
 */
static void
print_version(void)
{
	const struct pkg_linked *l;

	/* no dynamic loader (AT_BASE 0): the static build */
	printf("sluice %s (libevent %s, c-ares %s, glibc %s, linked %s)\n",
	    SLUICE_VERSION, event_get_version(), ares_version(NULL),
	    gnu_get_libc_version(),
	    getauxval(AT_BASE) == 0 ? "statically" : "dynamically");
	if (pkg_linked == NULL || pkg_linked[0].source == NULL)
		return;
	printf("linked from Debian packages:");
	for (l = pkg_linked; l->source != NULL; l++)
		printf("%s %s %s (%s)", l == pkg_linked ? "" : ",", l->source,
		    l->version, l->archive);
	printf("\n");
}

/* What the command line says, kept for reloads. */
struct cli {
	const char	*cfile;		/* -c */
	char		**lopts;	/* -l URIs */
	int		nl;
	char		**uopts;	/* -u USER:PASS */
	int		nu;
	int		debug;		/* -d */
	int		usage_error;	/* a flag was bad: exit 2 */
};

/*
 * The configuration: the file (if any), then the flags, then what
 * conf_finish() derives.  Used at start and on SIGHUP.  Returns 0, or -1
 * with every problem in err.
 */
static int
build_conf(struct conf *c, char *err, size_t errlen, void *arg)
{
	struct cli *cli = arg;
	int i;

	cli->usage_error = 0;
	if (cli->cfile != NULL && conf_load_file(c, cli->cfile, err,
	    errlen) == -1)
		return -1;
	if (cli->nl > 0) {
		/* -l replaces the configured listeners */
		free(c->listen);
		c->listen = NULL;
		c->nlisten = 0;
	}
	for (i = 0; i < cli->nl; i++)
		if (conf_add_listen_uri(c, cli->lopts[i], err, errlen) == -1) {
			cli->usage_error = 1;
			return -1;
		}
	for (i = 0; i < cli->nu; i++)
		if (conf_add_user_arg(c, cli->uopts[i], err, errlen) == -1) {
			cli->usage_error = 1;
			return -1;
		}
	if (conf_finish(c, err, errlen) == -1)
		return -1;
	switch (tcpcc_check(c, cli->cfile != NULL ? cli->cfile : "sluice", err,
	    errlen)) {
	case -1:
		return -1;
	case 1:
		err[strcspn(err, "\n")] = '\0';
		log_warn("%s", err);
		err[0] = '\0';
		break;
	}
	if (cli->debug)
		c->log_level = LOG_LVL_DEBUG;
	return 0;
}

/*
 * The loop is over and sluice is exiting: a late SIGTERM (a service
 * manager's second one, say) must not kill it halfway through the clean-up
 * with the default action; blocked, it stays pending until the exit.
 */
static void
block_stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Listeners bound, logs open: become the configured user, handing it the
 * files it keeps writing.
 */
static int
drop_privileges(const struct conf *c, char *err, size_t errlen)
{
	const char *files[3];
	int n = 0;

	if (conf_access_is_file(c->access_log))
		files[n++] = c->access_log;
	if (c->state_file != NULL)
		files[n++] = c->state_file;
	files[n] = NULL;
	return privs_drop(c->run_user, c->run_group, files, err, errlen);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli;
	struct conf conf;
	struct policy *pol = NULL;
	struct server *srv;
	char err[CONF_ERRLEN];
	int ch, check = 0, rc = 1;

	memset(&cli, 0, sizeof(cli));
	cli.lopts = calloc((size_t)argc, sizeof(*cli.lopts));
	cli.uopts = calloc((size_t)argc, sizeof(*cli.uopts));
	if (cli.lopts == NULL || cli.uopts == NULL) {
		fprintf(stderr, "sluice: out of memory\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "c:dhl:tu:V", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c':
			cli.cfile = optarg;
			break;
		case 'd':
			cli.debug = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out_cli;
		case 'l':
			cli.lopts[cli.nl++] = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'u':
			cli.uopts[cli.nu++] = optarg;
			break;
		case 'V':
			print_version();
			rc = 0;
			goto out_cli;
		default:
			usage(stderr);
			rc = 2;
			goto out_cli;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluice: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		rc = 2;
		goto out_cli;
	}

	conf_init(&conf);
	if (build_conf(&conf, err, sizeof(err), &cli) == -1) {
		if (cli.usage_error)
			fprintf(stderr, "sluice: %s\n", err);
		else
			fputs(err, stderr);
		rc = cli.usage_error ? 2 : 1;
		conf_free(&conf);
		goto out_cli;
	}
	if (check) {
		printf("%s: configuration OK\n", cli.cfile != NULL ? cli.cfile :
		    "(embedded default)");
		conf_print(&conf, stdout);
		conf_free(&conf);
		rc = 0;
		goto out_cli;
	}

	signal(SIGPIPE, SIG_IGN);
	log_init((enum log_level)conf.log_level);
	(void)notify_init();	/* before a privilege drop */
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		log_err("c-ares: cannot initialise");
		conf_free(&conf);
		goto out_cli;
	}
	if ((pol = policy_new(&conf, 1, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		conf_free(&conf);
		goto out_ares;
	}
	log_info("sluice %s starting (pid %ld)", SLUICE_VERSION,
	    (long)getpid());
	(void)pkgcheck_warn();
	if ((srv = server_new(pol, build_conf, &cli, err, sizeof(err))) ==
	    NULL) {
		log_err("%s", err);
		goto out_ares;
	}
	if (server_open_listeners(srv, err, sizeof(err)) == -1 ||
	    drop_privileges(&srv->pol->conf, err, sizeof(err)) == -1) {
		log_err("%s", err);
		server_free(srv);
		goto out_ares;
	}
	server_run(srv);
	block_stop_signals();
	crypt_pool_stop();
	server_free(srv);
	notify_close();
	log_info("stopped");
	rc = 0;
out_ares:
	sio_cache_free();
	ares_library_cleanup();
out_cli:
	free(cli.lopts);
	free(cli.uopts);
	return rc;
}
