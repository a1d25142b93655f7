# probe_layers.py — linear-probe accuracy of several concatenated feature layers, one by one:
# scikit-learn (Debian python3-sklearn) standardisation + logistic regression, C from 5-fold
# stratified CV on the training set. It is the reference that chose the default feature layer
# (README "Choosing the default layer"); it is not part of `make test`.
# Usage: /usr/bin/python3 probe_layers.py TRAIN_PREFIX EVAL_PREFIX[,EVAL2...] NAME:DIM ...
import sys, numpy as np, os
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
def load(prefix):
    X = np.load(prefix + ".npy")
    y = [os.path.basename(os.path.dirname(p)) for p in open(prefix + ".paths.txt").read().split("\n") if p]
    return X, np.array(y)
train, evals, layers = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
Xtr, ytr = load(train); E = [load(e) for e in evals]
col = 0
for spec in layers:
    name, dim = spec.split(":"); dim = int(dim); sl = slice(col, col + dim); col += dim
    clf = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                       {"logisticregression__C": np.logspace(-4, 1, 6)},
                       cv=StratifiedKFold(5, shuffle=True, random_state=0), n_jobs=2)
    clf.fit(Xtr[:, sl], ytr)
    accs = " ".join(f"{(clf.predict(X[:, sl]) == y).mean():.3f}" for X, y in E)
    print(f"{name:24s} C={clf.best_params_['logisticregression__C']:<8g} {accs}", flush=True)
