/*
 * crypt(3) off the event loop.  A yescrypt or sha512-crypt check takes
 * milliseconds of CPU on purpose; run on the loop it would stall every
 * connection of that worker, and a client sending wrong passwords could
 * freeze the proxy.  Jobs go to a small pool of threads; each result comes
 * back to the worker that asked, through an eventfd its loop watches.
 */
#ifndef SLUICE_CRYPT_POOL_H
#define SLUICE_CRYPT_POOL_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

struct crypt_home;

struct crypt_job {
	struct crypt_job *next;		/* queue / done list link */
	struct crypt_home *home;	/* the loop the result goes back to */
	char		*hash;		/* own copy of the hash to check */
	char		pass[256];	/* wiped after the check */
	size_t		plen;
	int		ok;		/* result: 1 when the password matches */
	void		(*done)(struct crypt_job *);	/* runs on home's
							   loop; frees */
	void		*arg;		/* the asker; NULL once it went away */
};

struct crypt_home {
	pthread_mutex_t	mu;		/* guards done */
	struct crypt_job *done;		/* finished, not yet delivered */
	int		efd;		/* eventfd: "done is not empty" */
	struct event	ev;		/* read event on efd */
	int		pending;	/* jobs submitted, not yet delivered */
};

int	crypt_home_init(struct crypt_home *, struct event_base *);
void	crypt_home_free(struct crypt_home *);
struct crypt_job *crypt_job_new(struct crypt_home *, const char *,
	    const char *, size_t, void (*)(struct crypt_job *), void *);
void	crypt_job_free(struct crypt_job *);
int	crypt_pool_submit(struct crypt_job *);
void	crypt_pool_stop(void);

#endif
