from logsynergy.loaders.lines import records_from_lines


def test_formats_strip_their_headers_like_the_file_loaders():
    bgl = (
        "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 "
        "RAS KERNEL INFO instruction cache parity error corrected"
    )
    [record] = records_from_lines("bgl", [bgl])
    assert record.message == "instruction cache parity error corrected"
    assert record.label == 0 and record.raw == bgl
    hdfs = "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_388 done"
    [record] = records_from_lines("hdfs", [hdfs])
    assert record.message.startswith("PacketResponder 1") and record.session == "blk_388"
    nova = (
        "INFO nova.compute.claims [req-a4498d64-47bb-491f-adde-effccaba43f0] "
        "[instance: 11760334-ac63-4cc8-9086-578422af8c99] Claim successful on node parisaserver"
    )
    [record] = records_from_lines("openstack", [nova])
    assert record.message == "Claim successful on node parisaserver"
    assert record.session == "11760334-ac63-4cc8-9086-578422af8c99"


def test_lines_that_do_not_fit_are_kept_whole_and_numbered():
    records = records_from_lines("bgl", ["not a bgl line at all", '{"message": "x"}'], start=41)
    assert [r.line_no for r in records] == [41, 42]
    assert records[0].message == "not a bgl line at all"
    [record] = records_from_lines("jsonl", ['{"message": "disk full", "session": "s1", "label": 1}'])
    assert (record.message, record.session, record.label) == ("disk full", "s1", 1)
