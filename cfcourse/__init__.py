"""cfcourse: the helper package of the course *Collaborative filtering with embeddings*.

Modules (import the one you need; nothing heavy is imported here):

- :mod:`cfcourse.download`: the cache folder, the data errors and the one download path of every data set;
  :mod:`cfcourse.data`: find, verify, load, validate, re-index and split MovieLens.
- :mod:`cfcourse.metrics`: RMSE and the global-mean and bias baselines.
- :mod:`cfcourse.models`: the Keras 3 models and the do-it-yourself embedding layer.
- :mod:`cfcourse.training`: seeding, fitting with early stopping, a tidy history.
- :mod:`cfcourse.svd`, :mod:`cfcourse.lookup`, :mod:`cfcourse.biases`, :mod:`cfcourse.explore`,
  :mod:`cfcourse.plots`: the chapters' helpers; :mod:`cfcourse.diagrams`: drawings of the models;
  :mod:`cfcourse.book`: pasting numbers into the prose; :mod:`cfcourse.widgets`: the try-it page's data.
- :mod:`cfcourse.ranking`: the ranking protocol (temporal hold-out, full-ranking metrics with CIs by
  keras-rs, top-N lists, coverage, popularity bias); :mod:`cfcourse.recommenders`: baselines and
  model adapters behind one ``fit``/``score`` interface; :mod:`cfcourse.new_user`: recommendations
  for someone not in the data.
- :mod:`cfcourse.features` (genres multi-hot, release year), :mod:`cfcourse.deep` (the deep rating model with
  side features), :mod:`cfcourse.widths` (the fourth-root rule and width sweeps), :mod:`cfcourse.side_by_side`
  (several models in one fit), :mod:`cfcourse.maps` (t-SNE maps), :mod:`cfcourse.bags` (the crash course's
  softmax recommender over bags of movies): chapters 8 and 9.
- :mod:`cfcourse.sequences`: users' histories as sequences (vocabulary with padding and
  out-of-vocabulary ids, padding, training windows, a next-movie recommender, the leak of shuffled
  windows); :mod:`cfcourse.sequence_models`: the Keras bag, GRU and causal-attention models;
  :mod:`cfcourse.recency`: the recency baseline (the neighbours of a user's last movies).
- :mod:`cfcourse.benchmark`: trains every model and prints one table (``python3 tasks.py bench``;
  ``--ranking`` for the recommenders).
- :mod:`cfcourse.checks`: checks for the exercises.
- :mod:`cfcourse.classroom`: the exercise markup, the student version, the leak search and the nbgrader
  export (``python3 tasks.py student``, ``python3 tasks.py nbgrader``).
- Beyond one machine: :mod:`cfcourse.spark` (is Spark usable, a quiet local session, ALS helpers),
  :mod:`cfcourse.parquet` (ratings as Parquet), :mod:`cfcourse.streaming` (Keras training from a
  streaming ``tf.data`` pipeline), :mod:`cfcourse.synthetic` (MovieLens-like ratings of any size),
  :mod:`cfcourse.scaling` (``python3 tasks.py bench --scale``), :mod:`cfcourse.bigdata` (ml-25m, ml-32m).
"""

__version__ = "0.1.0"
