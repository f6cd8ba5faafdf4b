module filterbench/filters-go

go 1.26
