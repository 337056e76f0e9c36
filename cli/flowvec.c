#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "cli/flowvec.h"
#include "common/encap.h"

void
flowvec_push(struct flowvec *fv, const struct flow_record *f)
{
	struct error_record *errs = NULL;

	if (fv->n == fv->cap) {
		size_t ncap = fv->cap ? fv->cap * 2 : 64;
		struct flow_record *nv = realloc(fv->v, ncap * sizeof(*nv));
		if (nv == NULL)
			err(2, "out of memory");
		fv->v = nv;
		fv->cap = ncap;
	}
	if (f->nerrors > 0) {
		if ((errs = calloc(f->nerrors, sizeof(*errs))) == NULL)
			err(2, "out of memory");
		memcpy(errs, f->errors, f->nerrors * sizeof(*errs));
	}
	fv->v[fv->n] = *f;
	fv->v[fv->n].errors = errs;
	if (f->gateway != NULL && (fv->v[fv->n].gateway =
	    strdup(f->gateway)) == NULL)
		err(2, "out of memory");
	if (f->encap != NULL) {
		struct flow_encap *e = malloc(sizeof(*e));
		if (e == NULL)
			err(2, "out of memory");
		*e = *f->encap;
		fv->v[fv->n].encap = e;
	}
	fv->n++;
}

void
flowvec_free(struct flowvec *fv)
{
	for (size_t i = 0; i < fv->n; i++) {
		free((void *)fv->v[i].errors);
		free((void *)fv->v[i].encap);
		free((void *)fv->v[i].gateway);
	}
	free(fv->v);
	memset(fv, 0, sizeof(*fv));
}

int
flowvec_gateways(const struct flowvec *fv)
{
	for (size_t i = 1; i < fv->n; i++)
		if (fv->v[i].gateway != NULL && fv->v[0].gateway != NULL &&
		    strcmp(fv->v[i].gateway, fv->v[0].gateway) != 0)
			return 2;
	return fv->n > 0 && fv->v[0].gateway != NULL;
}
