from hongtu.cli import main

main()
