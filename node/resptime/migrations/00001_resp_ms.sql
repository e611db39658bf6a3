-- +goose Up
-- Response times of the node's hospital API: n requests answered on CST
-- day (YYYY-MM-DD) in ms milliseconds, rounded up (a histogram with one
-- bucket per millisecond, so its percentiles are exact to the ms).
CREATE TABLE nd_resp_ms (
    day TEXT NOT NULL,
    ms  BIGINT NOT NULL,
    n   BIGINT NOT NULL,
    PRIMARY KEY (day, ms)
);

-- +goose Down
DROP TABLE nd_resp_ms;
