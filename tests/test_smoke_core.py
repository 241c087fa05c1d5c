import numpy as np

import napari_tvips as nt


def test_reads_split_recording(recording, frames):
    out = nt.file_reader(recording)[0]
    np.testing.assert_array_equal(out["data"], frames)
    assert out["axes"][0]["name"] == "time"
    assert out["original_metadata"]["frame_headers"]["rotidx"].tolist() == list(range(1, 31))
