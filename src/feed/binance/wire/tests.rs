use super::*;

const KLINE: &str = r#"{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}"#;
const TRADE: &str = r#"{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}"#;

#[test]
fn parses_the_documented_kline() {
    // The documented example has low 0.0015 above open 0.0010: not a valid candle. We refuse it.
    assert!(matches!(
        parse_ws_message(KLINE),
        Err(ParseError::Candle(_))
    ));
    let fixed = KLINE.replace(r#""l":"0.0015""#, r#""l":"0.0005""#);
    let WsEvent::Kline {
        symbol,
        interval,
        candle,
        closed,
        event_time_ms,
    } = parse_ws_message(&fixed).unwrap()
    else {
        panic!("not a kline")
    };
    assert_eq!(symbol.as_str(), "BNBBTC");
    assert_eq!(interval, Interval::M1);
    assert!(!closed);
    assert_eq!(event_time_ms, 1672515782136);
    assert_eq!(candle.open_time_ms, 1672515780000);
    assert_eq!(
        (candle.open, candle.high, candle.low, candle.close),
        (0.001, 0.0025, 0.0005, 0.002)
    );
    assert_eq!(candle.volume, 1000.0);
    assert_eq!(candle.quote_volume, 1.0);
    assert_eq!(candle.trades, 100);
}

#[test]
fn parses_the_documented_trade_raw_and_combined() {
    let expected = WsEvent::Trade {
        symbol: Symbol::new("BNBBTC").unwrap(),
        trade: Trade {
            trade_id: 12345,
            time_ms: 1672515782136,
            price: 0.001,
            quantity: 100.0,
            buyer_is_maker: true,
        },
        event_time_ms: 1672515782136,
    };
    assert_eq!(parse_ws_message(TRADE).unwrap(), expected);
    let mut combined = String::new();
    write_combined(&mut combined, "bnbbtc@trade", TRADE);
    assert_eq!(parse_ws_message(&combined).unwrap(), expected);
}

#[test]
fn written_events_parse_back() {
    let symbol = Symbol::new("ETHBTC").unwrap();
    let candle = Candle {
        open_time_ms: 1_515_560_100_000,
        open: 0.0984,
        high: 0.0994766,
        low: 0.09828605,
        close: 0.0994766,
        volume: 1820.544474,
        quote_volume: 180.1,
        trades: 42,
    };
    let mut out = String::new();
    write_kline_event(&mut out, symbol, Interval::M5, &candle, true, 7);
    assert_eq!(
        parse_ws_message(&out).unwrap(),
        WsEvent::Kline {
            symbol,
            interval: Interval::M5,
            candle,
            closed: true,
            event_time_ms: 7
        }
    );
    let body = write_rest_klines(Interval::M5, &[candle]);
    let rows = parse_rest_klines(&body, Interval::M5).unwrap();
    assert_eq!(rows[0].candle, candle);
    assert_eq!(rows[0].close_time_ms, candle.open_time_ms + 299_999);
}

#[test]
fn garbage_is_an_error_never_an_event() {
    let cases = [
        "",
        "{",
        "null",
        "[]",
        "\u{0}\u{1}binary",
        r#"{"e":"kline"}"#,
        r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT"}"#,
        r#"{"stream":"x","data":{"e":"trade"}}"#,
        &TRADE.replace(r#""p":"0.001""#, r#""p":"abc""#),
        &TRADE.replace(r#""p":"0.001""#, r#""p":"-1""#),
        &TRADE.replace(r#""p":"0.001""#, r#""p":"NaN""#),
        &TRADE.replace(r#""p":"0.001""#, r#""p":0.001"#),
        &TRADE.replace(r#""s":"BNBBTC""#, r#""s":"BNB/BTC""#),
        &TRADE.replace(r#""t":12345"#, r#""t":-5"#),
        &KLINE.replace(r#""i":"1m""#, r#""i":"7m""#),
        &KLINE.replace(r#""t":1672515780000"#, r#""t":1672515780001"#),
        &KLINE.replace(r#""h":"0.0025""#, r#""h":"inf""#),
    ];
    for case in cases {
        assert!(parse_ws_message(case).is_err(), "accepted {case:?}");
    }
}

#[test]
fn rest_garbage_is_refused_with_the_row() {
    let good = r#"[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]"#;
    let two = format!(
        "[{good},{}]",
        good.replace("1499040000000", "1499040060000")
    );
    assert_eq!(parse_rest_klines(&two, Interval::M1).unwrap().len(), 2);
    let bad_price = format!("[{good},{}]", good.replace("\"0.01577100\"", "\"x\""));
    let err = parse_rest_klines(&bad_price, Interval::M1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 1"), "{err}");
    let not_increasing = format!("[{good},{good}]");
    assert!(parse_rest_klines(&not_increasing, Interval::M1).is_err());
    for body in [
        "",
        "{}",
        "[[1,2,3]]",
        "[null]",
        r#"{"code":-1121,"msg":"Invalid symbol."}"#,
    ] {
        assert!(parse_rest_klines(body, Interval::M1).is_err(), "{body}");
    }
    assert!(parse_rest_klines("[]", Interval::M1).unwrap().is_empty());
}

#[test]
fn stream_names_round_trip() {
    let s = Symbol::new("BTCUSDT").unwrap();
    assert_eq!(
        parse_stream_name(&kline_stream(s, Interval::M15)),
        Some(StreamKind::Kline(s, Interval::M15))
    );
    assert_eq!(
        parse_stream_name(&trade_stream(s)),
        Some(StreamKind::Trade(s))
    );
    assert_eq!(parse_stream_name("btcusdt@depth"), None);
    assert_eq!(parse_stream_name("nonsense"), None);
}
