/* Public queries of a validated model's hyper-parameters (the "Model properties" API). */
#include "model/model_internal.h"

static const model_hparams *hparams_of(const sllm_model *model) {
    return model != NULL && model->has_weights ? &model->hparams : NULL;
}

SLLM_API int64_t sllm_model_n_ctx(const sllm_model *model) {
    const model_hparams *hp = hparams_of(model);
    return hp ? hp->n_ctx : 0;
}

SLLM_API int64_t sllm_model_n_embd(const sllm_model *model) {
    const model_hparams *hp = hparams_of(model);
    return hp ? hp->n_embd : 0;
}

SLLM_API int64_t sllm_model_n_layer(const sllm_model *model) {
    const model_hparams *hp = hparams_of(model);
    return hp ? hp->n_layer : 0;
}

SLLM_API int64_t sllm_model_n_vocab(const sllm_model *model) {
    const model_hparams *hp = hparams_of(model);
    return hp ? hp->n_vocab : 0;
}

SLLM_API const char *sllm_model_arch(const sllm_model *model) {
    const model_hparams *hp = hparams_of(model);
    return hp ? hp->arch_name : "";
}
