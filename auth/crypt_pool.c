/*
 * The crypt pool: see crypt_pool.h.
 *
 * Threads start on the first job (a configuration without hashed users
 * never starts one).  The queue is bounded: when it is full the job is
 * refused and the caller fails the login, which is the right answer to a
 * flood of password guesses.  Jobs are never cancelled; the asker detaches
 * by clearing job->arg, and done() frees the job.
 */
#include <sys/eventfd.h>

#include <crypt.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "crypt_pool.h"

#define POOL_THREADS	2
#define POOL_QUEUE_MAX	512

static struct {
	pthread_mutex_t	mu;
	pthread_cond_t	cv;
	struct crypt_job *head, **tail;
	int		queued;
	int		nthreads;
	int		stopping;
	pthread_t	threads[POOL_THREADS];
} pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.tail = &pool.head,
};

static void
home_deliver(struct crypt_home *h, struct crypt_job *j)
{
	uint64_t one = 1;
	ssize_t n;

	pthread_mutex_lock(&h->mu);
	j->next = h->done;
	h->done = j;
	pthread_mutex_unlock(&h->mu);
	do
		n = write(h->efd, &one, sizeof(one));
	while (n == -1 && errno == EINTR);
}

static void *
pool_main(void *unused)
{
	struct crypt_data *cd;
	struct crypt_job *j;

	(void)unused;
	cd = calloc(1, sizeof(*cd));
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		while (pool.head == NULL && !pool.stopping)
			pthread_cond_wait(&pool.cv, &pool.mu);
		if (pool.stopping)
			break;
		j = pool.head;
		if ((pool.head = j->next) == NULL)
			pool.tail = &pool.head;
		pool.queued--;
		pthread_mutex_unlock(&pool.mu);
		j->ok = cd != NULL &&
		    auth_crypt_verify(j->hash, j->pass, j->plen, cd);
		home_deliver(j->home, j);
		pthread_mutex_lock(&pool.mu);
	}
	pthread_mutex_unlock(&pool.mu);
	free(cd);
	return NULL;
}

/* Runs on the home loop: deliver every finished job. */
static void
home_cb(evutil_socket_t fd, short what, void *arg)
{
	struct crypt_home *h = arg;
	struct crypt_job *j, *next, *rev = NULL;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&h->mu);
	j = h->done;
	h->done = NULL;
	pthread_mutex_unlock(&h->mu);
	for (; j != NULL; j = next) {	/* oldest first */
		next = j->next;
		j->next = rev;
		rev = j;
	}
	for (j = rev; j != NULL; j = next) {
		next = j->next;
		h->pending--;
		j->done(j);
	}
}

/*
 * Per-worker end of the pool, on base.  Returns 0, or -1 (errno set).
 */
int
crypt_home_init(struct crypt_home *h, struct event_base *base)
{
	memset(h, 0, sizeof(*h));
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return -1;
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd == -1) {
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	event_assign(&h->ev, base, h->efd, EV_READ | EV_PERSIST, home_cb, h);
	if (event_add(&h->ev, NULL) == -1) {
		close(h->efd);
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	return 0;
}

/*
 * Tear down after crypt_pool_stop(): jobs still here are freed unrun.
 */
void
crypt_home_free(struct crypt_home *h)
{
	struct crypt_job *j, *next;

	if (h->efd <= 0)
		return;
	event_del(&h->ev);
	for (j = h->done; j != NULL; j = next) {
		next = j->next;
		crypt_job_free(j);
	}
	close(h->efd);
	h->efd = -1;
	pthread_mutex_destroy(&h->mu);
}

/*
 * A job checking pass[0..plen) against hash (copied), reporting to done()
 * on h's loop with arg.  NULL on allocation failure or an oversized password.
 */
struct crypt_job *
crypt_job_new(struct crypt_home *h, const char *hash, const char *pass,
    size_t plen, void (*done)(struct crypt_job *), void *arg)
{
	struct crypt_job *j;

	if (plen >= sizeof(j->pass) || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	if ((j->hash = strdup(hash)) == NULL) {
		free(j);
		return NULL;
	}
	memcpy(j->pass, pass, plen);
	j->plen = plen;
	j->home = h;
	j->done = done;
	j->arg = arg;
	return j;
}

void
crypt_job_free(struct crypt_job *j)
{
	if (j == NULL)
		return;
	explicit_bzero(j->pass, sizeof(j->pass));
	free(j->hash);
	free(j);
}

/*
 * Queue a job.  Returns 0 (done() will run on its home loop), or -1 when
 * the queue is full or no thread could be started: the caller still owns
 * the job.
 */
int
crypt_pool_submit(struct crypt_job *j)
{
	int rc = 0;

	pthread_mutex_lock(&pool.mu);
	if (pool.stopping || pool.queued >= POOL_QUEUE_MAX) {
		rc = -1;
		goto out;
	}
	if (pool.nthreads < POOL_THREADS && pool.queued >= pool.nthreads) {
		sigset_t all, old;
		int made;

		/* signals are the event loop's: the thread blocks them all */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		made = pthread_create(&pool.threads[pool.nthreads], NULL,
		    pool_main, NULL) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (made)
			pool.nthreads++;
		else if (pool.nthreads == 0) {
			rc = -1;
			goto out;
		}
	}
	j->next = NULL;
	*pool.tail = j;
	pool.tail = &j->next;
	pool.queued++;
	j->home->pending++;
	pthread_cond_signal(&pool.cv);
out:
	pthread_mutex_unlock(&pool.mu);
	return rc;
}

/*
 * Stop the threads (each finishes the check it is running) and free the
 * jobs still queued.  Results already delivered stay in their homes, where
 * crypt_home_free() frees them.
 */
void
crypt_pool_stop(void)
{
	struct crypt_job *j;
	int i, n;

	pthread_mutex_lock(&pool.mu);
	pool.stopping = 1;
	n = pool.nthreads;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	for (i = 0; i < n; i++)
		pthread_join(pool.threads[i], NULL);
	pthread_mutex_lock(&pool.mu);
	pool.nthreads = 0;
	while ((j = pool.head) != NULL) {
		pool.head = j->next;
		crypt_job_free(j);
	}
	pool.tail = &pool.head;
	pool.queued = 0;
	pthread_mutex_unlock(&pool.mu);
}
