# xfer — build, test and fetch weights. Outputs go to $(BUILD) (git-ignored); converted weights
# to weights/*.gguf (git-ignored; WEIGHTS_DIR=DIR puts them elsewhere). `make help` lists the
# targets. Quiet by default; V=1 prints every command.
#
# Layers (an upward #include fails to compile: each folder sees only its own headers and the
# ones below it):
#   extractor/        libxfer.a: base, weights file, metadata, graph, ops, model, session,
#                     images, pipeline, feature files
#   extractor/cli.c   libxfer_tools.a: what the command-line tools share (never in libxfer)
#   classifier/       libxfer_cls.a: linear heads, training, metrics, fine-tuning
#   weights/convert/  libxfer_conv.a: TF.js, TFLite and ONNX readers (protobuf-c)
CC      ?= cc
BUILD   ?= build
PKG_CORE := openblas libjpeg libpng libcjson libwebp libwebpdemux libtiff-4
PKG_CONV := libprotobuf-c
DEBS    := build-essential pkg-config libopenblas-dev libjpeg62-turbo-dev libturbojpeg0-dev \
           libpng-dev libwebp-dev libgif-dev libtiff-dev liblinear-dev libcjson-dev \
           protobuf-c-compiler libprotobuf-c-dev \
           libonnx-dev console-setup-linux ca-certificates curl clang clang-format \
           dataset-fashion-mnist
# the confusion PNG's font: Terminus Font 8x16 (SIL OFL 1.1) from console-setup-linux
FONT_PSF ?= /usr/share/consolefonts/Lat15-Terminus16.psf.gz
# test oracles and benchmark peers (never runtime dependencies)
ORACLE_DEBS := python3-numpy python3-pil liblinear-tools chromium strace
BENCH_DEBS  := python3-torch python3-torchvision python3-sklearn

ifeq ($(V),1)
  Q :=
  say := @true
else
  Q := @
  say := @printf '  %-6s %s\n'
endif

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wcast-qual -Wpointer-arith -Wdouble-promotion -Wformat=2 -Wundef -Wvla \
           -Wnull-dereference -fno-common
OPT     ?= -O2 -fno-math-errno
CFLAGS  ?= $(OPT) -g
GEN     := $(BUILD)/gen
# -fPIC -fvisibility=hidden: the same objects make libxfer.a and libxfer.so, which exports only
# what include/xfer.h marks XF_API
XCFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -MMD -MP -fPIC -fvisibility=hidden
# per-folder include paths: the layers above see the layers below, never the reverse
# (-iquote: project headers are #include "..."; a system <linear.h> or <png.h> is never shadowed)
INC_extractor  := -iquote include -iquote extractor
INC_classifier := $(INC_extractor) -iquote classifier
INC_weights    := $(INC_extractor) -iquote weights -iquote $(GEN)
INC_audit      := $(INC_classifier) -iquote audit
INC_tests      := $(INC_classifier) -iquote audit -iquote weights -iquote $(GEN) -iquote tests
INC_examples   := -iquote include

NO_LIB_GOALS := deps deps-oracles deps-bench demo clean help format format-check
ifeq ($(filter $(NO_LIB_GOALS),$(MAKECMDGOALS)),)
  MISSING := $(strip $(foreach p,$(PKG_CORE) $(PKG_CONV),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))))
  MISSING += $(if $(wildcard $(FONT_PSF)),,$(FONT_PSF))
  ifneq ($(strip $(MISSING)),)
    $(error missing libraries: $(MISSING). Install them with: make deps  (or apt-get install $(DEBS) nodejs npm))
  endif
  PC_CFLAGS := $(shell pkg-config --cflags $(PKG_CORE) $(PKG_CONV))
  LIBS_CORE := $(shell pkg-config --libs $(PKG_CORE)) -lgif -lm -lpthread
  LIBS_CONV := $(shell pkg-config --libs $(PKG_CONV))
endif

# BLAS=0: the engine on its reference GEMM (no OpenBLAS in libxfer; whitening's
# eigen-decomposition by Jacobi rotations). LIBLINEAR still brings its own BLAS to
# train-classifier.
ifeq ($(BLAS),0)
  XCFLAGS += -DXF_NO_BLAS
  LIBS_CORE := $(filter-out -lopenblas,$(LIBS_CORE))
else
  LIBS_CORE := $(filter-out -lopenblas,$(LIBS_CORE)) -lopenblas
endif
LIBS_LINEAR := -llinear

MAINS_EXTRACTOR := extractor/extract-features.c extractor/xfer-feats.c
MAINS_CLASSIFIER := classifier/train-classifier.c classifier/classify.c classifier/finetune-main.c
TOOLS_SRC := extractor/cli.c
LIB_SRC  := $(filter-out $(MAINS_EXTRACTOR) $(TOOLS_SRC),$(wildcard extractor/*.c))
CLS_SRC  := $(filter-out $(MAINS_CLASSIFIER) classifier/font-gen.c,$(wildcard classifier/*.c))
CONV_SRC := $(wildcard weights/convert/*.c)
AUDIT_SRC := $(filter-out audit/xfer-audit.c,$(wildcard audit/*.c))
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB       := $(BUILD)/libxfer.a
SONAME    := libxfer.so.0
SHLIB     := $(BUILD)/$(SONAME)
# every symbol resolved at link time, except in a sanitizer build (its runtime comes with the
# executable)
SHLIB_DEFS = $(if $(findstring sanitize,$(CFLAGS)),,-Wl,-z,defs)
TOOLS_LIB := $(BUILD)/libxfer_tools.a
CLS_LIB   := $(BUILD)/libxfer_cls.a
CONV_LIB  := $(BUILD)/libxfer_conv.a
AUDIT_LIB := $(BUILD)/libxfer_audit.a
TOOLS    := $(BUILD)/extract-features $(BUILD)/xfer-feats $(BUILD)/xfer-inspect \
            $(BUILD)/xfer-convert $(BUILD)/train-classifier $(BUILD)/classify $(BUILD)/finetune \
            $(BUILD)/xfer-audit
TESTS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c)) \
            $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/tests/replay_%,$(filter-out tests/fuzz/fuzz_main.c,$(wildcard tests/fuzz/fuzz_*.c)))
EXAMPLES := $(BUILD)/examples/minimal
# where `make weights` writes the converted weights (the tools also search ~/.cache/xfer, ...)
WEIGHTS_DIR ?= weights
WEIGHTS  := $(WEIGHTS_DIR)/mobilenet_v2.gguf $(WEIGHTS_DIR)/inception_v3.gguf

.PHONY: install uninstall all deps deps-oracles deps-bench test-slurm test-zoo onnx-models fuzz tsan weights test \
        check asan noblas bench golden clean help demo format format-check deps-ort test-corpus \
        reliability test-build check-build
.SECONDARY:

all: $(LIB) $(SHLIB) $(TOOLS) ## build the library (static and shared) and the eight tools in $(BUILD)

help: ## list the targets
	@grep -hE '^[a-z][a-zA-Z0-9_-]*:.*## ' $(MAKEFILE_LIST) | \
	  sed -E 's/^([^:]*):.*## (.*)/  make \1|\2/' | awk -F'|' '{printf "%-22s %s\n", $$1, $$2}'

# node + npm only when missing: some images ship NodeSource's nodejs, which bundles npm and
# conflicts with Debian's npm package
deps: ## install the Debian packages (root)
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBS)
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm

deps-oracles: deps ## + the test oracles (Pillow, numpy, liblinear-tools, headless Chromium)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(ORACLE_DEBS)

deps-bench: deps-oracles ## + the benchmark peers (PyTorch, torchvision, scikit-learn)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BENCH_DEBS)

# ONNX Runtime from npm (its prebuilt CPU binaries, no install scripts) into $(BUILD)/peers: the
# export check's oracle and the bench's peer; never linked
deps-ort: ## + ONNX Runtime for node (npm onnxruntime-node) in $(BUILD)/peers
	@mkdir -p $(BUILD)/peers && cd $(BUILD)/peers && { [ -f package.json ] || npm init -y >/dev/null; } && \
	  [ -d node_modules/onnxruntime-node ] || \
	  ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts --silent onnxruntime-node

# ---- compiling ------------------------------------------------------------------------------
# kernels: -O3 for the vectoriser's full cost model, no FP traps (lets branchy selects vectorise),
# a*b+c fused into FMA in the AVX clones (ISO C mode would keep them apart);
# still no -ffast-math: results do not depend on reassociation
$(BUILD)/obj/extractor/op_%.o $(BUILD)/obj/extractor/loss.o $(BUILD)/obj/extractor/conv_kernel.o $(BUILD)/obj/extractor/dw_kernel.o $(BUILD)/obj/extractor/winograd.o: OPT_EXTRA := -O3 -fno-trapping-math -ffp-contract=fast
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(XCFLAGS) $(INC_$(firstword $(subst /, ,$<))) $(PC_CFLAGS) $(CFLAGS) $(OPT_EXTRA) -c $< -o $@

# ONNX: Debian's onnx.proto compiled by protoc-c at build time (generated code, relaxed warnings)
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	$(say) PROTOC $<
	$(Q)cp $(ONNX_PROTO) $(GEN)/onnx.proto && cd $(GEN) && protoc-c --c_out=. onnx.proto
$(BUILD)/obj/gen/onnx.pb-c.o: $(GEN)/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(PC_CFLAGS) $(CFLAGS) -I$(GEN) -c $< -o $@
$(call obj,$(wildcard weights/convert/onnx*.c) tests/unit/test_onnx.c): $(GEN)/onnx.pb-c.h

# the confusion PNG's font (FONT_PSF, above), made into a C array by classifier/font-gen.c
$(BUILD)/font-gen: classifier/font-gen.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) $< -o $@
$(GEN)/font.c: $(BUILD)/font-gen $(FONT_PSF)
	@mkdir -p $(GEN)
	$(say) FONT $(FONT_PSF)
	$(Q)gzip -dc $(FONT_PSF) > $(GEN)/Lat15-Terminus16.psf && \
	  $(BUILD)/font-gen $(GEN)/Lat15-Terminus16.psf > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/font.o: $(GEN)/font.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(XCFLAGS) -iquote classifier $(CFLAGS) -c $< -o $@

define archive
	@mkdir -p $(dir $@)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^
endef
define link
	@mkdir -p $(dir $@)
	$(say) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.o %.a,$^) $(EXTRA_LIBS) $(LIBS_CORE) -o $@
endef
$(LIB): $(call obj,$(LIB_SRC))
	$(archive)
$(SHLIB): $(call obj,$(LIB_SRC)) extractor/exports.map
	@mkdir -p $(dir $@)
	$(say) LD $@
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script,extractor/exports.map $(SHLIB_DEFS) \
	  $(CFLAGS) $(LDFLAGS) $(filter %.o,$^) $(LIBS_CORE) -o $@
$(TOOLS_LIB): $(call obj,$(TOOLS_SRC))
	$(archive)
$(CLS_LIB): $(call obj,$(CLS_SRC)) $(BUILD)/obj/gen/font.o
	$(archive)
$(CONV_LIB): $(call obj,$(CONV_SRC)) $(BUILD)/obj/gen/onnx.pb-c.o
	$(archive)
$(AUDIT_LIB): $(call obj,$(AUDIT_SRC))
	$(archive)

# ---- linking: each tool gets the libraries it uses ----------------------------------------
$(BUILD)/extract-features: $(call obj,extractor/extract-features.c) $(TOOLS_LIB) $(LIB)
	$(link)
$(BUILD)/xfer-feats: $(call obj,extractor/xfer-feats.c) $(TOOLS_LIB) $(LIB)
	$(link)
$(BUILD)/xfer-inspect: $(call obj,weights/xfer-inspect.c) $(TOOLS_LIB) $(LIB)
	$(link)
$(BUILD)/xfer-convert: EXTRA_LIBS := $(LIBS_CONV)
$(BUILD)/xfer-convert: $(call obj,weights/xfer-convert.c) $(CONV_LIB) $(TOOLS_LIB) $(LIB)
	$(link)
$(BUILD)/train-classifier: EXTRA_LIBS := $(LIBS_LINEAR)
$(BUILD)/train-classifier: $(call obj,classifier/train-classifier.c) $(CLS_LIB) $(TOOLS_LIB) $(LIB)
	$(link)
$(BUILD)/classify: $(call obj,classifier/classify.c) $(CLS_LIB) $(TOOLS_LIB) $(LIB)
	$(link)
$(BUILD)/finetune: $(call obj,classifier/finetune-main.c) $(CLS_LIB) $(TOOLS_LIB) $(LIB)
	$(link)
$(BUILD)/xfer-audit: EXTRA_LIBS := $(LIBS_LINEAR)
$(BUILD)/xfer-audit: $(call obj,audit/xfer-audit.c) $(AUDIT_LIB) $(CLS_LIB) $(TOOLS_LIB) $(LIB)
	$(link)
TEST_LIBS := $(AUDIT_LIB) $(CLS_LIB) $(CONV_LIB) $(TOOLS_LIB) $(LIB)
$(TESTS): EXTRA_LIBS := $(LIBS_CONV) $(LIBS_LINEAR)
$(BUILD)/tests/test_image: EXTRA_LIBS += -lwebpmux # the animated WebP test's encoder
$(filter $(BUILD)/tests/test_%,$(TESTS)): $(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(TEST_LIBS)
	$(link)
$(filter $(BUILD)/tests/replay_%,$(TESTS)): $(BUILD)/tests/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/fuzz_main.o $(TEST_LIBS)
	$(link)
$(BUILD)/tests/onnx_check: $(call obj,tests/onnx/onnx_check.c) $(LIB)
	$(link)
$(BUILD)/examples/minimal: $(call obj,examples/minimal.c) $(LIB)
	$(link)
$(BUILD)/examples/mnist_to_png: EXTRA_LIBS := -lz
$(BUILD)/examples/mnist_to_png: $(call obj,examples/mnist_to_png.c) $(LIB)
	$(link)
$(BUILD)/grad_dump: $(call obj,tests/oracle/grad_dump.c) $(LIB)
	$(link)
$(BUILD)/preprocess_dump: $(call obj,tests/oracle/preprocess_dump.c) $(LIB)
	$(link)
$(BUILD)/ntxent_dump: $(call obj,tests/oracle/ntxent_dump.c) $(LIB)
	$(link)
$(BUILD)/bench_forward: $(call obj,tests/bench/bench_forward.c) $(LIB)
	$(link)
$(BUILD)/peak: $(call obj,tests/bench/peak.c)
	$(link)

# ---- install --------------------------------------------------------------------------------
# PREFIX/bin the tools, PREFIX/lib libxfer.so.0 (+ libxfer.so) and libxfer.a, PREFIX/include
# xfer.h, PREFIX/lib/pkgconfig/xfer.pc, PREFIX/share/man/man1 the tools' man pages (made by
# their --man from the option tables), PREFIX/share/xfer the catalogue and the weights files
# present in weights/ (where the installed tools look, after $XFER_WEIGHTS, ./weights and
# ~/.cache/xfer), PYTHON_SITE (PREFIX/lib/python3.X/dist-packages, on Debian's python3 path for
# /usr/local) the Python package. DESTDIR stages the tree for a package.
PREFIX ?= /usr/local
PY_LIBDIR := $(shell /usr/bin/python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null || echo python3)
PYTHON_SITE ?= $(PREFIX)/lib/$(PY_LIBDIR)/dist-packages
VERSION := $(shell sed -n 's/^\#define XF_VERSION_STRING "\(.*\)"/\1/p' include/xfer.h)
PC_REQUIRES := $(if $(filter 0,$(BLAS)),$(filter-out openblas,$(PKG_CORE)),$(PKG_CORE))
INSTALL_TOOLS := $(notdir $(TOOLS))
INSTALL_WEIGHTS ?= $(wildcard $(WEIGHTS_DIR)/*.gguf)
I := $(DESTDIR)$(PREFIX)
install: all $(SHLIB) ## install under PREFIX (/usr/local; DESTDIR=... stages it)
	$(say) INSTALL $(I)
	$(Q)install -d $(I)/bin $(I)/lib/pkgconfig $(I)/include $(I)/share/man/man1 $(I)/share/xfer/weights
	$(Q)install -m 755 $(TOOLS) $(I)/bin/
	$(Q)install -m 755 $(SHLIB) $(I)/lib/ && ln -sf $(SONAME) $(I)/lib/libxfer.so
	$(Q)install -m 644 $(LIB) $(I)/lib/libxfer.a
	$(Q)install -m 644 include/xfer.h $(I)/include/
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES@|$(PC_REQUIRES)|' \
	  extractor/xfer.pc.in > $(I)/lib/pkgconfig/xfer.pc
	$(Q)for t in $(INSTALL_TOOLS); do $(BUILD)/$$t --man > $(I)/share/man/man1/$$t.1 || exit 1; done
	$(Q)install -m 644 weights/catalog.tsv weights/FORMAT.md $(I)/share/xfer/
	$(Q)for w in $(INSTALL_WEIGHTS); do install -m 644 "$$w" $(I)/share/xfer/weights/ || exit 1; done
	$(Q)install -d $(DESTDIR)$(PYTHON_SITE)/xfer && install -m 644 python/xfer/__init__.py $(DESTDIR)$(PYTHON_SITE)/xfer/

uninstall: ## remove what install put under PREFIX
	$(say) RM $(I)
	$(Q)rm -f $(addprefix $(I)/bin/,$(INSTALL_TOOLS)) $(addprefix $(I)/share/man/man1/,$(addsuffix .1,$(INSTALL_TOOLS))) \
	  $(I)/lib/$(SONAME) $(I)/lib/libxfer.so $(I)/lib/libxfer.a $(I)/include/xfer.h \
	  $(I)/lib/pkgconfig/xfer.pc $(I)/share/xfer/catalog.tsv $(I)/share/xfer/FORMAT.md
	$(Q)rm -rf $(I)/share/xfer/weights $(DESTDIR)$(PYTHON_SITE)/xfer && rmdir $(I)/share/xfer 2>/dev/null || true

# ---- weights --------------------------------------------------------------------------------
$(BUILD)/npm/mobilenet_v2/model.json $(BUILD)/npm/inception_v3/model.json:
	$(Q)weights/fetch-npm.sh $(BUILD)/npm

NPM_META := --license MIT --source "npm:nsfwjs@4.4.0" \
  --source-hash "sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA==" \
  --labels weights/nsfwjs_labels.txt --mean 0,0,0 --std 1,1,1 --crop-pct 0.875

$(WEIGHTS_DIR)/mobilenet_v2.gguf: $(BUILD)/npm/mobilenet_v2/model.json $(BUILD)/xfer-convert
	@mkdir -p $(WEIGHTS_DIR)
	$(Q)$(BUILD)/xfer-convert $< -o $@ $(NPM_META) --name "MobileNetV2 1.0 224 (nsfwjs 4.4.0)" \
	  --arch mobilenetv2 --feature-layer block_13_expand_relu --trainable-from block_11_expand \
	  --pretrained-until block_10_project_BN

$(WEIGHTS_DIR)/inception_v3.gguf: $(BUILD)/npm/inception_v3/model.json $(BUILD)/xfer-convert
	@mkdir -p $(WEIGHTS_DIR)
	$(Q)$(BUILD)/xfer-convert $< -o $@ $(NPM_META) --name "InceptionV3 299 (nsfwjs 4.4.0)" \
	  --arch inceptionv3 --feature-layer mixed10 --trainable-from mixed9 --crop-pct 0.875

weights: $(WEIGHTS) ## the npm models, then every catalogue entry it can get (WEIGHTS_MIRROR=DIR, WEIGHTS_DIR=DIR)
	@WEIGHTS_DIR=$(WEIGHTS_DIR) weights/fetch-catalog.sh $(BUILD)

# ---- tests ----------------------------------------------------------------------------------
# check, asan, noblas and fuzz compile on every core first (test-build), then test one by one
JOBS ?= $(shell nproc)
TEST_BUILD := all $(TESTS) $(EXAMPLES) $(BUILD)/tests/onnx_check $(BUILD)/preprocess_dump $(SHLIB)
test-build: $(TEST_BUILD)
test: $(TEST_BUILD) ## run every test; ends with "N passed, N failed"
	@rm -rf $(BUILD)/tests/prefix && $(MAKE) --no-print-directory install INSTALL_WEIGHTS= \
	  PREFIX=$(abspath $(BUILD))/tests/prefix >/dev/null
	@XF_TEST_DIR=$(BUILD)/tests XF_TEST_CC="$(CC) $(CFLAGS) $(LDFLAGS)" tests/run.sh $(BUILD)

check-build: ## build everything the tests need with -Werror (CI's -Werror step)
	@$(MAKE) --no-print-directory -j$(JOBS) CFLAGS="$(OPT) -g -Werror" BUILD=build/check test-build >/dev/null

check: check-build ## the tests built with -Werror
	@$(MAKE) --no-print-directory CFLAGS="$(OPT) -g -Werror" BUILD=build/check test

# UBSan stops at the first report by halt_on_error at run time, not -fno-sanitize-recover at
# compile time (which made clang take minutes over the unrolled AVX-512 kernel)
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
asan: ## the tests under ASan + UBSan (clang)
	@$(MAKE) --no-print-directory -j$(JOBS) CC=clang CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" \
	  BUILD=build/asan test-build >/dev/null
	@UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(MAKE) --no-print-directory CC=clang CFLAGS="$(ASAN_CFLAGS)" \
	  LDFLAGS="-fsanitize=address,undefined" BUILD=build/asan test

noblas: ## the tests with the engine on its reference GEMM (BLAS=0)
	@$(MAKE) --no-print-directory -j$(JOBS) BLAS=0 BUILD=build/noblas test-build >/dev/null
	@$(MAKE) --no-print-directory BLAS=0 BUILD=build/noblas test

# ThreadSanitizer on the threaded pipeline (clones off: ifunc resolvers run before TSan starts)
TSAN := build/tsan
tsan: $(BUILD)/tests/test_wfile ## ThreadSanitizer on the threaded pipeline, output compared with -j 1
	@$(MAKE) --no-print-directory BUILD=$(TSAN) CFLAGS="-O1 -g -fsanitize=thread -DXF_NO_CLONES" \
	  LDFLAGS="-fsanitize=thread" $(TSAN)/extract-features $(TSAN)/tests/test_wfile $(TSAN)/tests/test_image
	@mkdir -p $(TSAN)/tests && XF_TEST_DIR=$(TSAN)/tests $(TSAN)/tests/test_wfile >/dev/null && \
	  XF_TEST_DIR=$(TSAN)/tests $(TSAN)/tests/test_image >/dev/null
	@$(TSAN)/extract-features -w $(TSAN)/tests/tiny.gguf --quiet -j 1 --batch 1 $(TSAN)/tests/img > $(TSAN)/j1.bin 2>/dev/null; \
	 $(TSAN)/extract-features -w $(TSAN)/tests/tiny.gguf --quiet -j 3 --batch 1 $(TSAN)/tests/img > $(TSAN)/j3.bin 2>/dev/null; \
	 cmp $(TSAN)/j1.bin $(TSAN)/j3.bin && echo "tsan: no data race reported, output identical"

# fuzzing (clang libFuzzer + ASan/UBSan), FUZZ_SECONDS per target; seeds: the test fixtures and
# tests/data/regress/TARGET (every crash found is kept there and replayed by make test). The
# libraries are built with the fuzzer's coverage instrumentation (fuzzer-no-link), so the
# fuzzer sees the parsers' branches, not only the harness's.
FUZZ_SECONDS ?= 60
FUZZ := build/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(filter-out tests/fuzz/fuzz_main.c,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
fuzz: $(BUILD)/tests/test_wfile $(BUILD)/tests/test_image ## libFuzzer on every parser, FUZZ_SECONDS each
	@$(MAKE) --no-print-directory -j$(JOBS) CC=clang BUILD=$(FUZZ) CFLAGS="-O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer" \
	  $(FUZZ)/libxfer.a $(FUZZ)/libxfer_cls.a $(FUZZ)/libxfer_conv.a $(FUZZ)/libxfer_tools.a
	@mkdir -p $(BUILD)/tests && XF_TEST_DIR=$(BUILD)/tests $(BUILD)/tests/test_wfile >/dev/null; XF_TEST_DIR=$(BUILD)/tests $(BUILD)/tests/test_image >/dev/null; true
	@for t in $(FUZZ_TARGETS); do \
	  clang $(FUZZ_FLAGS) $(INC_tests) $(PC_CFLAGS) tests/fuzz/fuzz_$$t.c \
	    $(FUZZ)/libxfer_cls.a $(FUZZ)/libxfer_conv.a $(FUZZ)/libxfer_tools.a $(FUZZ)/libxfer.a \
	    $(LIBS_CONV) $(LIBS_LINEAR) $(LIBS_CORE) -o $(FUZZ)/fuzz_$$t || exit 1; \
	  mkdir -p $(FUZZ)/corpus_$$t; cp -r tests/data/regress/$$t/. $(FUZZ)/corpus_$$t/ 2>/dev/null; done
	@cp tests/onnx/models/*.onnx $(FUZZ)/corpus_onnx/; cp $(BUILD)/tests/tiny.gguf $(FUZZ)/corpus_wfile/; \
	 cp $(BUILD)/tests/img/*.jpg $(BUILD)/tests/img/*.png $(FUZZ)/corpus_image/ 2>/dev/null; \
	 cp $(BUILD)/npm/mobilenet_v2/model.json $(FUZZ)/corpus_tfjs/ 2>/dev/null; \
	 [ -z "$(WEIGHTS_MIRROR)" ] || cp $(WEIGHTS_MIRROR)/mobilenet_v2_1.0_224_quant.tflite $(FUZZ)/corpus_tflite/ 2>/dev/null; true
	@tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ONNX conformance table against PyTorch (13 torchvision models; needs make deps-bench)
reliability: test-corpus fuzz ## the README's reliability figures: the corpus, fuzzing, then the hardening checks
	@for t in resume limits tools folders; do printf '%s: ' $$t; sh tests/cli/$$t.sh $(BUILD) | tail -1; done

test-corpus: all $(BUILD)/tests/test_wfile ## every file of ../shared/corpora and generated hostile images, one summary line
	@[ -f $(BUILD)/tests/tiny.gguf ] || XF_TEST_DIR=$(BUILD)/tests $(BUILD)/tests/test_wfile > /dev/null
	@tests/corpus/run.sh $(BUILD) $(or $(CORPUS),../shared/corpora)

test-zoo: all $(BUILD)/tests/onnx_check $(BUILD)/grad_dump ## ONNX import of 13 torchvision models vs PyTorch
	@tests/onnx/zoo.sh $(BUILD)

onnx-models: ## regenerate the small committed ONNX test models (needs PyTorch)
	/usr/bin/python3 tests/onnx/tiny.py tests/onnx/models

# a one-node Slurm cluster on loopback: sharded extraction + merge (installs slurm-wlm, munge)
test-slurm: all weights ## sharded extraction on a one-node Slurm cluster on loopback
	@command -v slurmctld >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
	@tests/slurm/run.sh $(BUILD)

bench: all $(BUILD)/bench_forward $(BUILD)/peak ## speed against ONNX Runtime and PyTorch, as ratios in one run
	@tests/bench/run.sh $(BUILD)

golden: all ## regenerate the TF.js reference outputs (tests/golden/golden.json)
	@tests/golden/make-golden.sh $(BUILD)

format: ## clang-format every C file in place
	@clang-format -i $(shell git ls-files '*.c' '*.h')

format-check: ## fail when a C file is not clang-formatted
	@clang-format --dry-run -Werror $(shell git ls-files '*.c' '*.h') && echo "format-check: clean"

# demo: installs what is missing, builds, fetches the weights, runs the three commands
demo: ## install, build, fetch the weights, run extract -> train -> classify on Fashion-MNIST
	@pkg-config --exists $(PKG_CORE) $(PKG_CONV) && [ -d /usr/share/datasets/fashion-mnist ] && [ -f $(FONT_PSF) ] || $(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(BUILD)/examples/mnist_to_png
	@$(MAKE) --no-print-directory weights > $(BUILD)/weights.log 2>&1 || { tail -5 $(BUILD)/weights.log; exit 1; }
	@examples/demo.sh $(BUILD)

clean: ## remove build/ (the weights stay)
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
