#!/usr/bin/env python3
"""The independent check of `sma-cross:FAST,SLOW`: backtesting.py on the same candles.

Long while the fast SMA of the closes is above the slow one, flat otherwise; orders fill at the
next bar's open (trade_on_close=False), exclusive_orders=True, commission on entry and exit, cash
large enough that whole-unit rounding does not matter. Prints JSON: the trades (entry and exit bar
open times in ms, prices) and the final equity relative to the starting cash.

Usage: python3 sma_cross.py CANDLES.csv FAST SLOW COMMISSION   (needs `pip install backtesting`)
"""
import json
import sys
import warnings

import pandas as pd
from backtesting import Backtest, Strategy

warnings.filterwarnings("ignore")
path, fast, slow, commission = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
raw = pd.read_csv(path)
data = pd.DataFrame(
    {
        "Open": raw["open"].values,
        "High": raw["high"].values,
        "Low": raw["low"].values,
        "Close": raw["close"].values,
        "Volume": raw["volume"].values,
    },
    index=pd.to_datetime(raw["open_time_ms"], unit="ms"),
)
open_times = list(raw["open_time_ms"].values)


def sma(values, n):
    return pd.Series(values).rolling(n).mean().values


class SmaCross(Strategy):
    def init(self):
        self.fast = self.I(sma, self.data.Close, fast)
        self.slow = self.I(sma, self.data.Close, slow)

    def next(self):
        f, s = self.fast[-1], self.slow[-1]
        if f != f or s != s:  # NaN while warming up
            return
        if f > s and not self.position:
            self.buy()
        elif f <= s and self.position:
            self.position.close()


CASH = 1e12
bt = Backtest(data, SmaCross, cash=CASH, commission=commission, trade_on_close=False,
              exclusive_orders=True, finalize_trades=True)
stats = bt.run()
trades = stats["_trades"]
out = {
    "final_equity_ratio": float(stats["Equity Final [$]"]) / CASH,
    "trades": [
        {
            "entry_time_ms": int(open_times[int(t.EntryBar)]),
            "exit_time_ms": int(open_times[int(t.ExitBar)]),
            "entry_price": float(t.EntryPrice),
            "exit_price": float(t.ExitPrice),
        }
        for t in trades.itertuples()
    ],
}
print(json.dumps(out))
