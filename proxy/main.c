/*
 * sluice: a SOCKS5 forward proxy.  Command line, configuration, start and
 * stop.  Exit status: 0 after a clean stop (or a good -t), 1 when the
 * configuration or the start fails, 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ares.h>
#include <event2/event.h>

#include "log.h"
#include "worker.h"
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
	    "usage: sluice [-t] [-d] [-c FILE] [-l socks5://ADDR:PORT]... "
	    "[-u USER:PASS]...\n"
	    "\n"
	    "A SOCKS5 forward proxy.  With no arguments: SOCKS5 on "
	    "127.0.0.1:1080, no auth,\nlogs on stderr, in the foreground.\n"
	    "\n"
	    "  -c FILE        read the configuration file (libconfig syntax)\n"
	    "  -t             check the configuration, print it and exit "
	    "(0 good, 1 bad)\n"
	    "  -l URI         listen on URI instead of the configured "
	    "listeners (repeatable):\n"
	    "                 socks5://127.0.0.1:1080, socks5://[::1]:1080\n"
	    "  -u USER:PASS   add a user and require authentication "
	    "(repeatable)\n"
	    "  -d             debug logging (state transitions)\n"
	    "  -h, --help     this help\n"
	    "  -V, --version  print the version\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop accepting and let tunnels finish "
	    "for timeouts.drain\nseconds (a second signal closes them at "
	    "once).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct conf conf;
	struct auth_db *auth = NULL;
	struct worker w;
	char err[CONF_ERRLEN];
	const char *cfile = NULL;
	char **lopts = NULL, **uopts = NULL;
	int ch, check = 0, debug = 0, nl = 0, nu = 0, i, rc = 1;

	lopts = calloc((size_t)argc, sizeof(*lopts));
	uopts = calloc((size_t)argc, sizeof(*uopts));
	if (lopts == NULL || uopts == NULL) {
		fprintf(stderr, "sluice: out of memory\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "c:dhl:tu:V", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			free(lopts);
			free(uopts);
			return 0;
		case 'l':
			lopts[nl++] = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'u':
			uopts[nu++] = optarg;
			break;
		case 'V':
			printf("sluice %s (libevent %s, c-ares %s)\n",
			    SLUICE_VERSION, event_get_version(),
			    ares_version(NULL));
			free(lopts);
			free(uopts);
			return 0;
		default:
			usage(stderr);
			free(lopts);
			free(uopts);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluice: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		free(lopts);
		free(uopts);
		return 2;
	}

	conf_init(&conf);
	if (cfile != NULL && conf_load_file(&conf, cfile, err,
	    sizeof(err)) == -1) {
		fputs(err, stderr);
		goto out;
	}
	if (nl > 0) {
		/* -l replaces the configured listeners */
		free(conf.listen);
		conf.listen = NULL;
		conf.nlisten = 0;
	}
	for (i = 0; i < nl; i++)
		if (conf_add_listen_uri(&conf, lopts[i], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "sluice: %s\n", err);
			rc = 2;
			goto out;
		}
	for (i = 0; i < nu; i++)
		if (conf_add_user_arg(&conf, uopts[i], err, sizeof(err)) == -1) {
			fprintf(stderr, "sluice: %s\n", err);
			rc = 2;
			goto out;
		}
	if (conf_finish(&conf, err, sizeof(err)) == -1) {
		fputs(err, stderr);
		goto out;
	}
	if (debug)
		conf.log_level = LOG_LVL_DEBUG;
	if (check) {
		printf("%s: configuration OK\n", cfile != NULL ? cfile :
		    "(embedded default)");
		conf_print(&conf, stdout);
		rc = 0;
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	log_init((enum log_level)conf.log_level);
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		log_err("c-ares: cannot initialise");
		goto out;
	}
	if ((auth = auth_db_new(&conf)) == NULL) {
		log_err("user table: %s", strerror(errno));
		goto out_ares;
	}
	if (worker_init(&w, &conf, auth, err, sizeof(err)) == -1) {
		log_err("%s", err);
		worker_free(&w);
		goto out_ares;
	}
	if (worker_open_listeners(&w, err, sizeof(err)) == -1) {
		log_err("%s", err);
		worker_free(&w);
		goto out_ares;
	}
	log_info("sluice %s starting (pid %ld)", SLUICE_VERSION,
	    (long)getpid());
	worker_run(&w);
	crypt_pool_stop();
	worker_free(&w);
	log_info("stopped");
	rc = 0;
out_ares:
	auth_db_free(auth);
	ares_library_cleanup();
out:
	conf_free(&conf);
	free(lopts);
	free(uopts);
	return rc;
}
