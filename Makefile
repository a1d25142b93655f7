# xfer — build, test and fetch weights. Outputs go to build/ (git-ignored); converted weights
# to weights/*.gguf (git-ignored). `make help` lists the targets.
CC      ?= cc
BUILD   ?= build
PKGS    := openblas libjpeg libpng libcjson libprotobuf-c
DEBS    := build-essential pkg-config libopenblas-dev libjpeg62-turbo-dev libturbojpeg0-dev \
           libpng-dev liblinear-dev libcjson-dev protobuf-c-compiler libprotobuf-c-dev \
           libonnx-dev ca-certificates curl clang dataset-fashion-mnist
# test oracles and benchmark peers (never runtime dependencies)
ORACLE_DEBS := python3-numpy python3-pil liblinear-tools
BENCH_DEBS  := python3-torch python3-torchvision python3-sklearn

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wcast-qual -Wpointer-arith -Wdouble-promotion -Wformat=2 -Wundef -Wvla \
           -Wnull-dereference -fno-common
OPT     ?= -O2 -fno-math-errno
CFLAGS  ?= $(OPT) -g
XCFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Iextractor -Iweights -Iclassifier -MMD -MP

ifeq ($(filter deps deps-oracles deps-bench demo clean help,$(MAKECMDGOALS)),)
  MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))))
  ifneq ($(MISSING),)
    $(error missing libraries: $(MISSING). Install them with: make deps  (or apt-get install $(DEBS) nodejs npm))
  endif
  PC_CFLAGS := $(shell pkg-config --cflags $(PKGS))
  PC_LIBS   := $(shell pkg-config --libs $(PKGS))
endif

ifeq ($(BLAS),0)
  XCFLAGS += -DXF_NO_BLAS
  PC_LIBS := $(filter-out -lopenblas,$(PC_LIBS))
else
  PC_LIBS += -lopenblas
endif
LDLIBS  := $(PC_LIBS) -llinear -lm -lpthread

LIB_SRC := extractor/error.c extractor/gemm.c extractor/graph.c extractor/model.c \
           extractor/session.c extractor/node.c extractor/op_act.c extractor/op_conv2d.c extractor/op_dwconv2d.c \
           extractor/op_dense.c extractor/op_pool.c extractor/op_elem.c extractor/image.c extractor/preprocess.c \
           extractor/feats.c extractor/inputs.c extractor/pipeline.c extractor/defaults.c \
           weights/wfile.c
CONV_SRC := weights/convert/builder.c weights/convert/tfjs.c weights/convert/tflite.c \
            weights/convert/onnx.c weights/convert/onnx_values.c weights/convert/onnx_patterns.c
CLS_SRC  := classifier/linear.c classifier/head.c classifier/labels.c classifier/train.c \
            classifier/whiten.c classifier/finetune.c classifier/ftcache.c \
            classifier/metrics.c
CLS_OBJ  := $(CLS_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CONV_OBJ := $(CONV_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/onnx.pb-c.o
GEN      := $(BUILD)/gen
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
LIB      := $(BUILD)/libxfer.a
TOOLS    := $(BUILD)/extract-features $(BUILD)/xfer-inspect $(BUILD)/xfer-convert \
            $(BUILD)/train-classifier $(BUILD)/classify $(BUILD)/xfer-feats $(BUILD)/finetune
BENCH    := $(BUILD)/bench_forward
TESTS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c)) \
            $(BUILD)/tests/replay_wfile $(BUILD)/tests/replay_image
EXAMPLES := $(BUILD)/examples/minimal

WEIGHTS  := weights/mobilenet_v2.gguf weights/inception_v3.gguf

.PHONY: all deps deps-oracles deps-bench test-slurm test-zoo onnx-models fuzz tsan weights test check asan bench golden clean help demo
all: $(LIB) $(TOOLS)

help:
	@echo "make deps        install Debian packages (root)     make weights   fetch + convert default weights"
	@echo "make             build library and tools in build/  make test      run all tests"
	@echo "make check       tests with -Werror                 make asan      tests under ASan+UBSan"
	@echo "make bench       forward-pass speed vs peers        make golden    regenerate TF.js goldens"
	@echo "make demo        weights + extract features on generated images"

# node + npm only when missing: some images ship NodeSource's nodejs, which bundles npm and
# conflicts with Debian's npm package
deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBS)
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm

deps-oracles: deps
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(ORACLE_DEBS)

deps-bench: deps-oracles
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BENCH_DEBS)

# kernels: -O3 for the vectoriser's full cost model, no FP traps (lets branchy selects vectorise),
# a*b+c fused into FMA in the AVX clones (ISO C mode would keep them apart);
# still no -ffast-math: results do not depend on reassociation
$(BUILD)/obj/extractor/op_%.o: OPT_EXTRA := -O3 -fno-trapping-math -ffp-contract=fast
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(PC_CFLAGS) $(CFLAGS) $(OPT_EXTRA) -c $< -o $@

# ONNX: Debian's onnx.proto compiled by protoc-c at build time (generated code, relaxed warnings)
$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	cp $(ONNX_PROTO) $(GEN)/onnx.proto
	cd $(GEN) && protoc-c --c_out=. onnx.proto
$(BUILD)/obj/gen/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(PC_CFLAGS) $(CFLAGS) -I$(GEN) -c $< -o $@
ONNX_OBJ := $(BUILD)/obj/weights/convert/onnx.o $(BUILD)/obj/weights/convert/onnx_values.o \
            $(BUILD)/obj/weights/convert/onnx_patterns.o
$(ONNX_OBJ) $(BUILD)/obj/tests/unit/test_onnx.o: $(GEN)/onnx.pb-c.h
$(ONNX_OBJ) $(BUILD)/obj/tests/unit/test_onnx.o: XCFLAGS += -I$(GEN)

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/extract-features: $(BUILD)/obj/extractor/extract-features.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/xfer-feats: $(BUILD)/obj/extractor/xfer-feats.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/xfer-inspect: $(BUILD)/obj/weights/xfer-inspect.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/xfer-convert: $(BUILD)/obj/weights/xfer-convert.o $(CONV_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/train-classifier: $(BUILD)/obj/classifier/train-classifier.o $(CLS_OBJ) $(CONV_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/finetune: $(BUILD)/obj/classifier/finetune-main.o $(CLS_OBJ) $(CONV_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/classify: $(BUILD)/obj/classifier/classify.o $(CLS_OBJ) $(CONV_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(CONV_OBJ) $(CLS_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/obj/tests/unit/%.o: XCFLAGS += -Itests
# the fuzz targets with a plain main: replayed over the test files by tests/run.sh
$(BUILD)/tests/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/fuzz_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/examples/mnist_to_png: $(BUILD)/obj/examples/mnist_to_png.o
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lz -o $@
$(BUILD)/examples/minimal: $(BUILD)/obj/examples/minimal.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- weights ------------------------------------------------------------------------------
$(BUILD)/npm/mobilenet_v2/model.json $(BUILD)/npm/inception_v3/model.json:
	weights/fetch-npm.sh $(BUILD)/npm

NPM_META := --license MIT --source "npm:nsfwjs@4.4.0" \
  --source-hash "sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA==" \
  --labels weights/nsfwjs_labels.txt --mean 0,0,0 --std 1,1,1 --crop-pct 0.875

weights/mobilenet_v2.gguf: $(BUILD)/npm/mobilenet_v2/model.json $(BUILD)/xfer-convert
	$(BUILD)/xfer-convert $< -o $@ $(NPM_META) --name "MobileNetV2 1.0 224 (nsfwjs 4.4.0)" \
	  --arch mobilenetv2 --feature-layer block_13_expand_relu --trainable-from block_11_expand \
	  --pretrained-until block_10_project_BN

weights/inception_v3.gguf: $(BUILD)/npm/inception_v3/model.json $(BUILD)/xfer-convert
	$(BUILD)/xfer-convert $< -o $@ $(NPM_META) --name "InceptionV3 299 (nsfwjs 4.4.0)" \
	  --arch inceptionv3 --feature-layer mixed10 --trainable-from mixed9 --crop-pct 0.875

# npm models (always), then every catalogue entry that can be had (WEIGHTS_MIRROR=DIR or download)
weights: $(WEIGHTS)
	@weights/fetch-catalog.sh $(BUILD)

# ---- tests --------------------------------------------------------------------------------
test: all $(TESTS) $(EXAMPLES) $(BUILD)/tests/onnx_check
	@-$(MAKE) --no-print-directory weights >$(BUILD)/weights.log 2>&1 || \
	  echo "note: make weights failed (see $(BUILD)/weights.log); golden tests will SKIP"
	@tests/run.sh $(BUILD)

check:
	$(MAKE) CFLAGS="$(OPT) -g -Werror" BUILD=build/check test

asan:
	$(MAKE) CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" BUILD=build/asan test

# ThreadSanitizer on the threaded pipeline (clones off: ifunc resolvers run before TSan starts)
tsan: test
	$(MAKE) BUILD=build/tsan CFLAGS="-O1 -g -fsanitize=thread -DXF_NO_CLONES" LDFLAGS="-fsanitize=thread" \
	  build/tsan/extract-features
	build/tsan/extract-features -w build/tests/tiny.gguf --quiet -j 3 --batch 1 build/tests/cli-resume/many > build/tsan/j3.bin
	cmp build/tsan/j3.bin build/tests/cli-resume/full.bin && echo "tsan: no data race reported, output identical"

# fuzzing (clang libFuzzer + ASan/UBSan), FUZZ_SECONDS per target, seeds from the test files
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -std=c11 \
              -D_GNU_SOURCE -Iinclude -Iextractor -Iweights $(PC_CFLAGS)
FUZZ_SRC := $(LIB_SRC) $(CONV_SRC) $(GEN)/onnx.pb-c.c
fuzz: test
	@mkdir -p $(BUILD)/fuzz
	@for t in wfile image tflite onnx; do \
	  clang $(FUZZ_FLAGS) -I$(GEN) tests/fuzz/fuzz_$$t.c $(FUZZ_SRC) $(LDLIBS) -o $(BUILD)/fuzz/fuzz_$$t || exit 1; done
	@mkdir -p $(BUILD)/fuzz/corpus_wfile $(BUILD)/fuzz/corpus_image $(BUILD)/fuzz/corpus_tflite $(BUILD)/fuzz/corpus_onnx
	@cp tests/onnx/models/*.onnx $(BUILD)/fuzz/corpus_onnx/
	@cp build/tests/tiny.gguf $(BUILD)/fuzz/corpus_wfile/ ; cp -r build/tests/img/*.jpg build/tests/img/*.png $(BUILD)/fuzz/corpus_image/ 2>/dev/null; true
	@[ -z "$(WEIGHTS_MIRROR)" ] || cp $(WEIGHTS_MIRROR)/mobilenet_v2_1.0_224_quant.tflite $(BUILD)/fuzz/corpus_tflite/ 2>/dev/null; true
	@for t in wfile image tflite onnx; do echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
	    $(BUILD)/fuzz/corpus_$$t 2>&1 | tail -3 || exit 1; done

# ONNX conformance table against PyTorch (13 torchvision models; needs make deps-bench)
test-zoo: all $(BUILD)/tests/onnx_check $(BUILD)/grad_dump
	@tests/onnx/zoo.sh $(BUILD)

# regenerates the small committed ONNX test models and their PyTorch references
onnx-models:
	/usr/bin/python3 tests/onnx/tiny.py tests/onnx/models

# a one-node Slurm cluster on loopback: sharded extraction + merge (installs slurm-wlm, munge)
test-slurm: all weights
	@command -v slurmctld >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
	@tests/slurm/run.sh $(BUILD)

bench: all $(BENCH)
	@tests/bench.sh $(BUILD)

golden: weights
	tests/golden/make-golden.sh $(BUILD)

# demo: installs what is missing, builds, fetches the weights, runs the three commands
demo:
	@pkg-config --exists $(PKGS) && [ -d /usr/share/datasets/fashion-mnist ] || $(MAKE) deps
	$(MAKE) all weights $(BUILD)/examples/mnist_to_png
	@examples/demo.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/grad_dump: $(BUILD)/obj/tests/oracle/grad_dump.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/preprocess_dump: $(BUILD)/obj/tests/oracle/preprocess_dump.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bench_forward: $(BUILD)/obj/tests/bench/bench_forward.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/onnx_check: $(BUILD)/obj/tests/onnx/onnx_check.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
